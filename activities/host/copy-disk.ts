/**
 * Copies a disk image from this host to another: disk-receiver, ferry's own program on the
 * destination, reads a framed stream (offset, length, data) of the image's non-zero 64 KiB blocks
 * through an SSH exec channel and writes them at their offsets, so holes stay holes. It
 * acknowledges the written prefix, from which an interrupted copy resumes, and both sides hash the
 * data while it flows. See docs/disk-copy.md.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { Counter } from 'prom-client';
import type { Client, ClientChannel } from 'ssh2';
import { projectRoot } from '../../config/project-root';
import { encodeFrameHeader, FRAME_DATA, FRAME_END, RECEIVER_EXIT } from './copy-frames';
import {
  dataRanges,
  DIGEST_ALGORITHM,
  DIGEST_BLOCK_BYTES,
  DigestBuilder,
  hashRange,
  isZeroBlock,
  PRE_OPTION_DIGEST_ALGORITHM,
  READ_BYTES,
  readRanges,
  type DiskDigest,
} from './disk-digest';
import {
  confineInstancePath,
  InstancePathError,
  resolveInstancePath,
} from '../../virt/instance-paths';
import { fileDataExtents, type FileExtent } from '../../virt/qemu-img';
import { connectSsh, RemoteCommandError, shellQuote, SshExecError, type SshTarget } from './ssh';

/**
 * Payload bytes this process's copies sent, for its `/metrics` (a host agent registers it,
 * docs/metrics.md); per process, from 0 at its start.
 */
export const diskCopyBytes = new Counter({
  name: 'ferry_disk_copy_bytes_total',
  help: 'Disk bytes this process sent to another host (cold migration and resize disk copies)',
  registers: [],
});

/** Read buffers: at most this many chunks are read ahead or not yet taken by the channel. */
const MAX_BUFFERS = 16;
const PROGRESS_BYTES = 256 * 1024 * 1024;
const PROGRESS_MS = 1000;

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
   * The receiver on the destination, run with its options and the file appended. Default: this
   * host's `node <projectRoot>/dist/activities/host/disk-receiver.js`, as ferry is installed alike
   * on all hosts.
   */
  destReceiverCommand?: readonly string[];
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

/**
 * The destination's receiver computes another digest than this host (a different ferry version
 * there): the digests cannot be compared, so the copy fails instead of passing or reporting
 * corrupt data.
 */
export class DigestAlgorithmMismatchError extends Error {
  override readonly name = 'DigestAlgorithmMismatchError';

  constructor(
    readonly source: string,
    readonly dest: string,
    detail?: string,
  ) {
    super(
      `digest algorithm mismatch: this host computes ${source}, the destination's receiver ${dest}; run the same ferry version on both hosts${detail === undefined ? '' : ` (${detail})`}`,
    );
  }
}

/** How a receiver that predates `--digest` refuses it: node's parseArgs, uncaught, status 1. */
function refusedDigestOption(code: number | null, stderr: string): boolean {
  return code === 1 && /ERR_PARSE_ARGS_UNKNOWN_OPTION\]: Unknown option '--digest'/.test(stderr);
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

/** Non-zero runs of a chunk as [start, end) pairs. */
function dataRuns(chunk: Buffer): Array<[number, number]> {
  const runs: Array<[number, number]> = [];
  for (let block = 0; block < chunk.length; block += DIGEST_BLOCK_BYTES) {
    const end = Math.min(block + DIGEST_BLOCK_BYTES, chunk.length);
    if (isZeroBlock(chunk.subarray(block, end))) continue;
    const last = runs[runs.length - 1];
    if (last !== undefined && last[1] === block) last[1] = end;
    else runs.push([block, end]);
  }
  return runs;
}

function parseDigest(text: string): DiskDigest {
  let parsed: DiskDigest;
  try {
    parsed = JSON.parse(text) as DiskDigest;
  } catch (error) {
    throw new RemoteDigestError(text, error);
  }
  if (
    typeof parsed.algorithm !== 'string' ||
    typeof parsed.digest !== 'string' ||
    typeof parsed.size !== 'number'
  ) {
    throw new RemoteDigestError(text, new Error('missing algorithm, digest or size'));
  }
  return parsed;
}

/**
 * disk-receiver on the destination, run in an exec channel: frames go to its stdin, its
 * acknowledgements and digest come from its stdout.
 */
class RemoteReceiver {
  /** The receiver's digest once it exited after the end frame; rejects on any other outcome. */
  readonly result: Promise<DiskDigest>;
  onAck: (offset: number) => void = () => undefined;
  private closed = false;
  private readonly waiters = new Set<() => void>();

  private constructor(
    private readonly channel: ClientChannel,
    private readonly sock: Duplex,
    argv: readonly string[],
    dest: { path: string; instancesDir: string },
  ) {
    let stdout = '';
    const stderr: Buffer[] = [];
    let digest: DiskDigest | undefined;
    /** Told by a receiver that refuses this host's algorithm. */
    let receiverAlgorithm = 'unknown';
    let code: number | null = null;
    let exitSignal: string | null = null;
    channel.on('data', (data: Buffer) => {
      stdout += data.toString('latin1');
      let newline: number;
      while ((newline = stdout.indexOf('\n')) >= 0) {
        const line = stdout.slice(0, newline);
        stdout = stdout.slice(newline + 1);
        if (line.startsWith('ack ')) this.onAck(Number(line.slice(4)));
        else if (line.startsWith('digest ')) digest = parseDigest(line.slice(7));
        else if (line.startsWith('algorithm ')) receiverAlgorithm = line.slice(10);
      }
    });
    channel.stderr.on('data', (data: Buffer) => stderr.push(data));
    channel.on('exit', (exitCode: number | null, signalName?: string) => {
      code = exitCode;
      exitSignal = signalName ?? null;
    });
    this.result = new Promise<DiskDigest>((resolve, reject) => {
      channel.once('close', () => {
        this.closed = true;
        for (const wake of this.waiters) wake();
        if (code === 0 && digest !== undefined) return resolve(digest);
        const message = Buffer.concat(stderr).toString('utf8').trim();
        if (code === RECEIVER_EXIT.resumeTargetMissing) {
          return reject(new ResumeTargetMissingError(dest.path));
        }
        if (code === RECEIVER_EXIT.pathRefused) {
          return reject(new InstancePathError(dest.path, dest.instancesDir, message));
        }
        if (code === RECEIVER_EXIT.digestAlgorithm) {
          return reject(new DigestAlgorithmMismatchError(DIGEST_ALGORITHM, receiverAlgorithm));
        }
        if (refusedDigestOption(code, message)) {
          const detail = 'its disk-receiver does not know --digest';
          return reject(
            new DigestAlgorithmMismatchError(DIGEST_ALGORITHM, PRE_OPTION_DIGEST_ALGORITHM, detail),
          );
        }
        const result = { code, signal: exitSignal, stdout, stderr: message };
        reject(new RemoteCommandError(argv, result));
      });
    });
    // Observed by finish(), or dropped with the connection when the copy fails earlier.
    this.result.catch(() => undefined);
  }

  static start(
    conn: Client,
    sock: Duplex,
    argv: readonly string[],
    dest: { path: string; instancesDir: string },
  ): Promise<RemoteReceiver> {
    return new Promise((resolve, reject) => {
      // SHLVL > 0 keeps bash from reading ~/.bashrc when sshd accepts it (docs/disk-copy.md).
      conn.exec(argv.map(shellQuote).join(' '), { env: { SHLVL: '1' } }, (err, channel) =>
        err
          ? reject(new SshExecError(argv, err.message, { cause: err }))
          : resolve(new RemoteReceiver(channel, sock, argv, dest)),
      );
    });
  }

  /** Queues `data`; `written` runs once the channel has taken it. Waits while the channel is full. */
  async send(data: Buffer, written?: () => void): Promise<void> {
    if (this.closed || !this.channel.write(data, written)) {
      this.flush();
      await this.drained();
    }
  }

  /** Holds the SSH packets of the sends that follow, to write them to the socket at once. */
  batch(): void {
    this.sock.cork();
  }

  flush(): void {
    while (this.sock.writableCorked > 0) this.sock.uncork();
  }

  finish(size: number): Promise<DiskDigest> {
    this.channel.end(encodeFrameHeader({ type: FRAME_END, length: 0, offset: size }));
    return this.result;
  }

  /** Resolves on 'drain'; when the receiver is gone, rejects with why. */
  private async drained(): Promise<void> {
    if (!this.closed) {
      await new Promise<void>((resolve) => {
        const wake = () => {
          this.waiters.delete(wake);
          this.channel.removeListener('drain', wake);
          resolve();
        };
        this.waiters.add(wake);
        this.channel.once('drain', wake);
      });
    }
    if (this.closed) {
      await this.result;
      throw new Error('the receiver exited before the end frame');
    }
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
  /** Data extents from the resume point on. */
  extents: readonly FileExtent[];
  digest: DigestBuilder;
}

/**
 * Sends the non-zero runs from `transfer.bytesDone` on as frames, hashing them on the way, and
 * advances `bytesDone` over the prefix the receiver acknowledged. A read buffer is reused once the
 * channel has taken all its frames.
 */
async function sendBlocks(
  source: LocalImage,
  receiver: RemoteReceiver,
  transfer: Transfer,
  signal?: AbortSignal,
): Promise<void> {
  /** Chunks sent and not yet acknowledged, in file order; `sentEnd` ends the last frame. */
  const chunks: Array<{ offset: number; end: number; sentEnd: number }> = [];
  receiver.onAck = (acked) => {
    while (chunks.length > 0 && chunks[0].sentEnd <= acked) {
      transfer.bytesDone = (chunks.shift() as (typeof chunks)[number]).end;
    }
    // Holes before the oldest unacknowledged chunk are done too.
    if (chunks.length > 0) transfer.bytesDone = chunks[0].offset;
    transfer.report();
  };
  const free: Buffer[] = [];
  let buffers = 0;
  let wake: (() => void) | undefined;
  const release = (buffer: Buffer) => {
    free.push(buffer);
    wake?.();
  };
  const take = async () => {
    while (free.length === 0 && buffers >= MAX_BUFFERS) {
      // A receiver gone with buffers still queued for it would leave them taken for good.
      await Promise.race([new Promise<void>((resolve) => (wake = resolve)), receiver.result]);
    }
    if (free.length > 0) return free.pop() as Buffer;
    buffers += 1;
    return Buffer.allocUnsafe(READ_BYTES);
  };
  const ranges = dataRanges(source.extents, transfer.bytesDone, transfer.totalBytes);
  for await (const { offset, chunk, buffer } of readRanges(
    source.file,
    source.path,
    ranges,
    take,
  )) {
    signal?.throwIfAborted();
    source.digest.add(offset, chunk);
    const runs = dataRuns(chunk);
    const entry = { offset, end: offset + chunk.length, sentEnd: 0 };
    chunks.push(entry);
    if (runs.length === 0) release(buffer);
    receiver.batch();
    for (const [index, [runStart, runEnd]] of runs.entries()) {
      const length = runEnd - runStart;
      const header = { type: FRAME_DATA, length, offset: offset + runStart };
      entry.sentEnd = header.offset + length;
      await receiver.send(encodeFrameHeader(header));
      await receiver.send(chunk.subarray(runStart, runEnd), () => {
        transfer.bytesSent += length;
        diskCopyBytes.inc(length);
        if (index === runs.length - 1) release(buffer);
      });
    }
    receiver.flush();
  }
}

function resumeOffset(resumeFrom: number, size: number): number {
  if (!Number.isSafeInteger(resumeFrom) || resumeFrom < 0 || resumeFrom > size) {
    throw new InvalidResumeOffsetError(resumeFrom, size);
  }
  return resumeFrom - (resumeFrom % DIGEST_BLOCK_BYTES);
}

export async function copyDisk(options: CopyDiskOptions): Promise<CopyDiskResult> {
  const started = Date.now();
  const { dest, signal } = options;
  const sourcePath = await resolveInstancePath(options.instancesDir, options.source);
  const destPath = confineInstancePath(options.destInstancesDir, dest.path);
  const receiverCommand = options.destReceiverCommand ?? [
    'node',
    join(projectRoot(), 'dist/activities/host/disk-receiver.js'),
  ];

  const file = await open(sourcePath, 'r');
  let transfer: Transfer | undefined;
  let conn: Client | undefined;
  let receiving: Promise<RemoteReceiver> | undefined;
  const onAbort = () => conn?.end();
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    signal?.throwIfAborted();
    const { size, mode } = await file.stat();
    const start = resumeOffset(options.resumeFrom ?? 0, size);
    transfer = new Transfer(start, size, options.onProgress);
    // The receiver starts (and hashes its kept prefix) while this side does the same.
    // A socket of our own, to write the SSH packets of a chunk in one system call.
    const sock = dest.sock ?? connect({ host: dest.host, port: dest.port, noDelay: true });
    receiving = connectSsh({ ...dest, sock }).then((connected) => {
      conn = connected;
      signal?.throwIfAborted();
      const argv = [
        ...receiverCommand,
        ...['--digest', DIGEST_ALGORITHM],
        ...['--instances-dir', options.destInstancesDir, '--resume-from', String(start)],
        ...['--mode', (mode & 0o777).toString(8), destPath],
      ];
      return RemoteReceiver.start(connected, sock, argv, {
        path: destPath,
        instancesDir: options.destInstancesDir,
      });
    });
    // Observed below; a failure here ends the copy before the receiver is awaited.
    receiving.catch(() => undefined);
    const digest = new DigestBuilder();
    await hashRange(digest, file, sourcePath, { start: 0, end: start }, signal);
    const extents = await fileDataExtents(sourcePath, { start, end: size });
    const receiver = await receiving;
    await sendBlocks({ file, path: sourcePath, extents, digest }, receiver, transfer, signal);
    const remote = await receiver.finish(size);
    transfer.bytesDone = size;
    transfer.report(true);
    const local = digest.finish(size);
    if (remote.algorithm !== local.algorithm) {
      throw new DigestAlgorithmMismatchError(local.algorithm, remote.algorithm);
    }
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
    // A connection still being made when the copy failed is closed once it is there.
    await receiving?.catch(() => undefined);
    conn?.end();
    await file.close();
  }
}
