/**
 * Copies a disk image from this host to another over SFTP: only non-zero 64 KiB blocks are sent
 * (pipelined writes at their offsets), holes stay holes, an interrupted copy resumes from a byte
 * offset, and the result is verified with disk-digest, computed on both sides while the data
 * flows. See docs/disk-copy.md.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { Counter } from 'prom-client';
import { dirname, join } from 'node:path';
import { PassThrough } from 'node:stream';
import type { Client, Stats } from 'ssh2';
import { projectRoot } from '../../config/project-root';
import {
  dataRanges,
  DIGEST_BLOCK_BYTES,
  DigestBuilder,
  hashRange,
  isZeroBlock,
  READ_BYTES,
  readRanges,
  type DiskDigest,
} from './disk-digest';
import {
  confineInstancePath,
  InstancePathError,
  isInside,
  resolveInstancePath,
} from '../../virt/instance-paths';
import { fileDataExtents, type FileExtent } from '../../virt/qemu-img';
import {
  connectSsh,
  execChecked,
  openSftp,
  SftpError,
  type SftpSession,
  type SshTarget,
} from './ssh';

/**
 * Payload bytes this process's copies sent, for its `/metrics` (a host agent registers it,
 * docs/metrics.md); per process, from 0 at its start.
 */
export const diskCopyBytes = new Counter({
  name: 'ferry_disk_copy_bytes_total',
  help: 'Disk bytes this process sent to another host (cold migration and resize disk copies)',
  registers: [],
});

/** Three blocks: below the 256 KiB write limit of OpenSSH's sftp-server. */
const WRITE_BYTES = 3 * DIGEST_BLOCK_BYTES;
/** Read buffers, so at most this many chunks are read ahead or awaiting acknowledgement. */
const MAX_BUFFERS = 16;
const PROGRESS_BYTES = 256 * 1024 * 1024;
const PROGRESS_MS = 1000;
/**
 * The destination digest is told to catch up once the acknowledged prefix has grown this much and
 * this long after the last time: each catch-up costs a qemu-img map there.
 */
const FOLLOW_BYTES = 256 * 1024 * 1024;
const FOLLOW_MS = 1000;

export interface CopyProgress {
  /** Every byte below this offset is on the destination (written or a hole). */
  bytesDone: number;
  /** Payload bytes sent by this call. */
  bytesSent: number;
  totalBytes: number;
}

export interface CopyDiskOptions {
  /** Image on this host, inside `instancesDir`. */
  source: string;
  dest: SshTarget & { path: string };
  instancesDir: string;
  destInstancesDir: string;
  /** Continue an interrupted copy: bytes below this offset are already on the destination. */
  resumeFrom?: number;
  onProgress?: (progress: CopyProgress) => void;
  signal?: AbortSignal;
  /**
   * Digest command on the destination, run with `--follow FILE` appended. Default: this host's
   * `node <projectRoot>/dist/activities/host/disk-digest.js`, as ferry is installed alike on all hosts.
   */
  destDigestCommand?: readonly string[];
}

export interface CopyDiskResult {
  bytes: number;
  bytesSent: number;
  digest: string;
  seconds: number;
}

export class CopyAbortedError extends Error {
  override readonly name = 'CopyAbortedError';

  constructor(
    /** Pass as `resumeFrom` to continue. */
    readonly bytesDone: number,
    cause: unknown,
  ) {
    super(`disk copy aborted after ${bytesDone} bytes`, { cause });
  }
}

export class ChecksumMismatchError extends Error {
  override readonly name = 'ChecksumMismatchError';

  constructor(
    readonly source: DiskDigest,
    readonly dest: DiskDigest,
  ) {
    super(
      `destination differs from source: ${dest.digest} (${dest.size} bytes) != ${source.digest} (${source.size} bytes)`,
    );
  }
}

export class InvalidResumeOffsetError extends RangeError {
  override readonly name = 'InvalidResumeOffsetError';

  constructor(
    readonly resumeFrom: number,
    readonly size: number,
  ) {
    super(`cannot resume at ${resumeFrom}: source has ${size} bytes`);
  }
}

export class ResumeTargetMissingError extends Error {
  override readonly name = 'ResumeTargetMissingError';

  constructor(readonly path: string) {
    super(`cannot resume: ${path} does not exist on the destination`);
  }
}

export class RemoteDigestError extends Error {
  override readonly name = 'RemoteDigestError';

  constructor(
    readonly output: string,
    cause: unknown,
  ) {
    super(`unreadable digest from destination: ${JSON.stringify(output.slice(0, 200))}`, {
      cause,
    });
  }
}

const SSH_FX_NO_SUCH_FILE = 2;

async function lstatOrNull(sftp: SftpSession, path: string): Promise<Stats | null> {
  try {
    return await sftp.call<Stats>('lstat', path, (cb) => sftp.sftp.lstat(path, cb));
  } catch (error) {
    if (error instanceof SftpError && error.status === SSH_FX_NO_SUCH_FILE) return null;
    throw error;
  }
}

/** The lexical check was done before connecting; this one resolves symlinks on the destination. */
async function confineRemotePath(sftp: SftpSession, instancesDir: string, path: string) {
  const realpath = (p: string) =>
    sftp.call<string>('realpath', p, (cb) => sftp.sftp.realpath(p, cb));
  const [realDir, realParent] = await Promise.all([
    realpath(instancesDir),
    realpath(dirname(path)),
  ]);
  if (realParent !== realDir && !isInside(realDir, realParent)) {
    throw new InstancePathError(path, instancesDir, `parent resolves to ${realParent} on the peer`);
  }
  const stats = await lstatOrNull(sftp, path);
  if (stats?.isSymbolicLink()) throw new InstancePathError(path, instancesDir, 'is a symlink');
  return stats;
}

/** Non-zero runs of a chunk as [start, end) pairs, split to at most WRITE_BYTES. */
function dataRuns(chunk: Buffer): Array<[number, number]> {
  const runs: Array<[number, number]> = [];
  for (let block = 0; block < chunk.length; block += DIGEST_BLOCK_BYTES) {
    const end = Math.min(block + DIGEST_BLOCK_BYTES, chunk.length);
    if (isZeroBlock(chunk.subarray(block, end))) continue;
    const last = runs[runs.length - 1];
    if (last !== undefined && last[1] === block && end - last[0] <= WRITE_BYTES) last[1] = end;
    else runs.push([block, end]);
  }
  return runs;
}

function parseDigest(stdout: string): DiskDigest {
  let parsed: DiskDigest;
  try {
    parsed = JSON.parse(stdout) as DiskDigest;
  } catch (error) {
    throw new RemoteDigestError(stdout, error);
  }
  if (typeof parsed.digest !== 'string' || typeof parsed.size !== 'number') {
    throw new RemoteDigestError(stdout, new Error('missing digest or size'));
  }
  return parsed;
}

/**
 * `disk-digest --follow` on the destination, told now and then how far the acknowledged prefix
 * reaches, so it hashes behind the writes and little is left to hash at the end.
 */
class RemoteDigest {
  private readonly feed = new PassThrough();
  private readonly result: Promise<DiskDigest>;
  private announced: number;
  private announcedAt = Date.now();

  constructor(conn: Client, command: readonly string[], path: string, start: number) {
    const argv = [...command, '--follow', path];
    this.result = execChecked(conn, argv, { stdin: this.feed }).then((r) => parseDigest(r.stdout));
    // Observed by finish(); a copy that fails earlier drops it with the connection.
    this.result.catch(() => undefined);
    this.announced = start;
    this.feed.write(`${start}\n`);
  }

  advance(bytesDone: number): void {
    const now = Date.now();
    if (bytesDone - this.announced < FOLLOW_BYTES || now - this.announcedAt < FOLLOW_MS) return;
    this.announced = bytesDone;
    this.announcedAt = now;
    this.feed.write(`${bytesDone}\n`);
  }

  finish(): Promise<DiskDigest> {
    this.feed.end('end\n');
    return this.result;
  }
}

/** Progress of one call, reported at most every PROGRESS_BYTES or PROGRESS_MS. */
class Transfer {
  bytesSent = 0;
  private reportedBytes: number;
  private reportedAt = Date.now();

  constructor(
    public bytesDone: number,
    readonly totalBytes: number,
    private readonly onProgress?: (progress: CopyProgress) => void,
  ) {
    this.reportedBytes = bytesDone;
  }

  report(force = false): void {
    if (this.onProgress === undefined) return;
    const now = Date.now();
    const due =
      this.bytesDone - this.reportedBytes >= PROGRESS_BYTES || now - this.reportedAt >= PROGRESS_MS;
    if (!force && !due) return;
    this.reportedBytes = this.bytesDone;
    this.reportedAt = now;
    const { bytesDone, bytesSent, totalBytes } = this;
    this.onProgress({ bytesDone, bytesSent, totalBytes });
  }
}

interface LocalImage {
  file: FileHandle;
  path: string;
  mode: number;
  /** Data extents from the resume point on. */
  extents: readonly FileExtent[];
  digest: DigestBuilder;
}

interface RemoteImage {
  sftp: SftpSession;
  handle: Buffer;
  path: string;
  digest: RemoteDigest;
}

/**
 * Sends the non-zero blocks from `transfer.bytesDone` on, hashing them on the way, and advances
 * `bytesDone` over the acknowledged prefix. Read buffers are recycled once all their writes are
 * acknowledged, which also bounds the data in flight.
 */
async function sendBlocks(
  source: LocalImage,
  dest: RemoteImage,
  transfer: Transfer,
  signal?: AbortSignal,
): Promise<void> {
  type Chunk = { offset: number; end: number; pending: number; dispatched: boolean };
  /** Chunks not yet fully acknowledged, in file order. */
  const chunks: Chunk[] = [];
  const inFlight = new Set<Promise<void>>();
  const free: Buffer[] = [];
  let buffers = 0;
  const take = async () => {
    while (free.length === 0 && buffers >= MAX_BUFFERS) await Promise.race(inFlight);
    if (free.length > 0) return free.pop() as Buffer;
    buffers += 1;
    return Buffer.allocUnsafe(READ_BYTES);
  };
  const settle = (chunk: Chunk, buffer: Buffer) => {
    if (!chunk.dispatched || chunk.pending > 0) return;
    free.push(buffer);
    while (chunks.length > 0 && chunks[0].dispatched && chunks[0].pending === 0) {
      transfer.bytesDone = (chunks.shift() as Chunk).end;
    }
    // Holes before the oldest unacknowledged chunk are done too.
    if (chunks.length > 0) transfer.bytesDone = chunks[0].offset;
    dest.digest.advance(transfer.bytesDone);
    transfer.report();
  };
  const ranges = dataRanges(source.extents, transfer.bytesDone, transfer.totalBytes);
  const reads = readRanges(source.file, source.path, ranges, take);
  for await (const { offset, chunk, buffer } of reads) {
    signal?.throwIfAborted();
    source.digest.add(offset, chunk);
    const state: Chunk = { offset, end: offset + chunk.length, pending: 0, dispatched: false };
    chunks.push(state);
    for (const [runStart, runEnd] of dataRuns(chunk)) {
      const length = runEnd - runStart;
      state.pending += 1;
      const write = dest.sftp
        .call<void>('write', dest.path, (cb) =>
          dest.sftp.sftp.write(dest.handle, chunk, runStart, length, offset + runStart, cb),
        )
        .then(() => {
          transfer.bytesSent += length;
          diskCopyBytes.inc(length);
          state.pending -= 1;
          settle(state, buffer);
        })
        .finally(() => inFlight.delete(write));
      // Failures are observed by Promise.race / Promise.all.
      write.catch(() => undefined);
      inFlight.add(write);
    }
    state.dispatched = true;
    settle(state, buffer);
  }
  await Promise.all(inFlight);
}

function resumeOffset(resumeFrom: number, size: number): number {
  if (!Number.isSafeInteger(resumeFrom) || resumeFrom < 0 || resumeFrom > size) {
    throw new InvalidResumeOffsetError(resumeFrom, size);
  }
  return resumeFrom - (resumeFrom % DIGEST_BLOCK_BYTES);
}

/**
 * Writes the image's data from `transfer.bytesDone` on into the destination file and returns the
 * destination's digest of the whole file.
 */
async function upload(
  conn: Client,
  source: LocalImage,
  dest: { path: string; instancesDir: string; digestCommand: readonly string[] },
  transfer: Transfer,
  signal?: AbortSignal,
): Promise<DiskDigest> {
  const { path } = dest;
  const start = transfer.bytesDone;
  const sftp = await openSftp(conn);
  const existing = await confineRemotePath(sftp, dest.instancesDir, path);
  if (start > 0 && existing === null) throw new ResumeTargetMissingError(path);
  // A resume keeps [0, start) and cuts what an interrupted run may have left beyond it.
  const handle = await sftp.call<Buffer>('open', path, (cb) =>
    sftp.sftp.open(path, start > 0 ? 'r+' : 'w', { mode: source.mode & 0o777 }, cb),
  );
  const setSize = (bytes: number) =>
    sftp.call<void>('truncate', path, (cb) => sftp.sftp.fsetstat(handle, { size: bytes }, cb));
  await setSize(start);
  const digest = new RemoteDigest(conn, dest.digestCommand, path, start);
  await sendBlocks(source, { sftp, handle, path, digest }, transfer, signal);
  await setSize(transfer.totalBytes);
  const durable = async () => {
    await sftp.call<void>('fsync', path, (cb) => sftp.sftp.ext_openssh_fsync(handle, cb));
    await sftp.call<void>('close', path, (cb) => sftp.sftp.close(handle, cb));
    transfer.bytesDone = transfer.totalBytes;
    transfer.report(true);
  };
  // The content is final once sized: the destination hashes its tail while it is flushed.
  const [remote] = await Promise.all([digest.finish(), durable()]);
  return remote;
}

export async function copyDisk(options: CopyDiskOptions): Promise<CopyDiskResult> {
  const started = Date.now();
  const { dest, signal } = options;
  const sourcePath = await resolveInstancePath(options.instancesDir, options.source);
  const destPath = confineInstancePath(options.destInstancesDir, dest.path);
  const digestCommand = options.destDigestCommand ?? [
    'node',
    join(projectRoot(), 'dist/activities/host/disk-digest.js'),
  ];

  const file = await open(sourcePath, 'r');
  let transfer: Transfer | undefined;
  let conn: Client | undefined;
  const onAbort = () => conn?.end();
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    signal?.throwIfAborted();
    const { size, mode } = await file.stat();
    const start = resumeOffset(options.resumeFrom ?? 0, size);
    transfer = new Transfer(start, size, options.onProgress);
    const digest = new DigestBuilder();
    await hashRange(digest, file, sourcePath, { start: 0, end: start }, signal);
    const extents = await fileDataExtents(sourcePath, { start, end: size });
    conn = await connectSsh(dest);
    signal?.throwIfAborted();
    const source = { file, path: sourcePath, mode, extents, digest };
    const target = { path: destPath, instancesDir: options.destInstancesDir, digestCommand };
    const remote = await upload(conn, source, target, transfer, signal);
    const local = digest.finish(size);
    if (local.digest !== remote.digest || local.size !== remote.size) {
      throw new ChecksumMismatchError(local, remote);
    }
    return {
      bytes: size,
      bytesSent: transfer.bytesSent,
      digest: local.digest,
      seconds: (Date.now() - started) / 1000,
    };
  } catch (error) {
    if (signal?.aborted) {
      throw new CopyAbortedError(transfer?.bytesDone ?? options.resumeFrom ?? 0, signal.reason);
    }
    throw error;
  } finally {
    signal?.removeEventListener('abort', onAbort);
    conn?.end();
    await file.close();
  }
}
