/**
 * The copy of one set-aside disk to the destination, run on the source: copyDisk (sparse,
 * verified) to the disk's own path there, heartbeating `{ offset }`, the end of the prefix that is
 * on the destination. A retry reads the last heartbeat's offset and resumes from it; a resume the
 * destination cannot take (its file gone, or damaged: checksum mismatch) starts over instead.
 */
import { Context, log } from '@temporalio/activity';
import { dirname } from 'node:path';
import type { ResizeHostActivities } from '../../../workflows/resize-contract';
import {
  ChecksumMismatchError,
  CopyAbortedError,
  InvalidResumeOffsetError,
  ResumeTargetMissingError,
  copyDisk,
  type CopyDiskResult,
} from '../copy-disk';
import { confineInstancePath, resolveInstancePath } from '../../../virt/instance-paths';
import { migrationFailure } from '../live-migration/failures';
import type { ResizeAgentContext } from './context';
import { asidePath, pathExists } from './instance-files';
import { connectTarget } from './peer-access';
import { makeRemoteDir } from './remote-dir';

type CopyRequest = Parameters<ResizeHostActivities['copyDiskToHost']>[0];

/** The heartbeat details of a copy. */
export interface CopyHeartbeat {
  /** Every byte below this offset is on the destination. */
  offset: number;
}

/** Heartbeats repeat this often while nothing moves (hashing a resumed prefix, connecting). */
const KEEPALIVE_MS = 5_000;

function resumeOffset(details: unknown): number {
  const offset = (details as Partial<CopyHeartbeat> | null | undefined)?.offset;
  return typeof offset === 'number' && Number.isSafeInteger(offset) && offset > 0 ? offset : 0;
}

/** Heartbeats the offset at each change, and every KEEPALIVE_MS in between. */
class OffsetHeartbeat {
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly activity: Context,
    private offset: number,
  ) {
    this.beat();
    this.timer = setInterval(() => this.beat(), KEEPALIVE_MS);
  }

  set(offset: number): void {
    this.offset = offset;
    this.beat();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private beat(): void {
    this.activity.heartbeat({ offset: this.offset } satisfies CopyHeartbeat);
  }
}

export async function copyDiskToPeer(
  context: ResizeAgentContext,
  request: CopyRequest,
): Promise<{ bytesSent: number; digest: string }> {
  const activity = Context.current();
  const { disk, destHost } = request;
  const subject = `instance ${request.instanceUuid}'s disk ${disk.target}`;
  const peer = await connectTarget(context.hostName, context.peers, destHost, request.dest);
  const source = await resolveInstancePath(
    context.instancesDir,
    asidePath(context.instancesDir, request.asideDir, disk.path),
  );
  if (!(await pathExists(source))) {
    throw migrationFailure(
      'MigrationError',
      `${subject} is not set aside on ${context.hostName}: ${source} does not exist`,
    );
  }
  const destPath = confineInstancePath(peer.instancesDir, disk.path);
  await makeRemoteDir(peer.target, peer.instancesDir, dirname(destPath));

  const start = resumeOffset(activity.info.heartbeatDetails);
  const heartbeat = new OffsetHeartbeat(activity, start);
  const copy = (resumeFrom: number) =>
    copyDisk({
      source,
      dest: { ...peer.target, path: destPath },
      instancesDir: context.instancesDir,
      destInstancesDir: peer.instancesDir,
      resumeFrom,
      onProgress: ({ bytesDone }) => heartbeat.set(bytesDone),
      signal: activity.cancellationSignal,
    });
  let result: CopyDiskResult;
  try {
    result = await copy(start).catch((error: unknown) => {
      const unresumable =
        error instanceof ResumeTargetMissingError ||
        error instanceof InvalidResumeOffsetError ||
        error instanceof ChecksumMismatchError;
      if (start === 0 || !unresumable) throw error;
      log.warn('cannot resume the copy; copying the whole disk', {
        disk: disk.target,
        resumeFrom: start,
        error: error.message,
      });
      heartbeat.set(0);
      return copy(0);
    });
  } catch (error) {
    if (error instanceof CopyAbortedError) activity.cancellationSignal.throwIfAborted();
    // The destination's file differs from the source's: the next attempt starts over.
    if (error instanceof ChecksumMismatchError) heartbeat.set(0);
    throw error;
  } finally {
    heartbeat.stop();
  }
  log.info('disk copied', {
    disk: disk.target,
    destHost,
    bytes: result.bytes,
    bytesSent: result.bytesSent,
    resumedFrom: start,
    seconds: result.seconds,
  });
  return { bytesSent: result.bytesSent, digest: result.digest };
}
