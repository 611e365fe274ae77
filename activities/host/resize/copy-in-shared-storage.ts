/**
 * The copy of one set-aside disk on shared storage, run on the source: the destination sees this
 * host's instances dir, so the disk is copied from the aside dir to its own path inside it (Nova's
 * way), never over the network, and the aside copy stays for a revert. `cp` clones the file where
 * the filesystem can (reflinks) and keeps it sparse; a partial copy is written under a temporary
 * name and renamed into place, so a retry starts over and never finds half a disk at the path.
 */
import { Context } from '@temporalio/activity';
import { execFile } from 'node:child_process';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { promisify } from 'node:util';
import type { ResizeHostActivities } from '../../../workflows/resize-contract';
import { resolveInstancePath } from '../../../virt/instance-paths';
import type { ResizeAgentContext } from './context';
import { asidePath, confineAsideDir } from './instance-files';

type CopyRequest = Parameters<ResizeHostActivities['copyDiskInSharedStorage']>[0];

/** The copy heartbeats this often: the copying agent's heartbeat timeout is 15 s. */
const HEARTBEAT_MS = 5_000;

export async function copyDiskInSharedStorage(
  context: ResizeAgentContext,
  request: CopyRequest,
): Promise<{ bytesCopied: number }> {
  const { instancesDir } = context;
  const asideDir = confineAsideDir(instancesDir, request.asideDir);
  const from = await resolveInstancePath(
    instancesDir,
    asidePath(instancesDir, asideDir, request.disk.path),
  );
  const to = await resolveInstancePath(instancesDir, request.disk.path);
  const partial = `${to}.copying`;
  const activity = Context.current();
  const beat = setInterval(() => activity.heartbeat(), HEARTBEAT_MS);
  try {
    await mkdir(dirname(to), { recursive: true });
    await promisify(execFile)('cp', ['--reflink=auto', '--sparse=always', '--', from, partial], {
      signal: activity.cancellationSignal,
    });
    await rename(partial, to);
  } catch (error) {
    await rm(partial, { force: true });
    throw error;
  } finally {
    clearInterval(beat);
  }
  return { bytesCopied: (await stat(to)).size };
}
