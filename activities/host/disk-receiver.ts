/**
 * The destination end of copyDisk, run there over SSH:
 *   node disk-receiver.js --digest ALGORITHM --instances-dir DIR --resume-from OFFSET
 *     --mode MODE FILE
 * Refuses a source whose digest ALGORITHM is not its own and a FILE outside DIR (also through
 * symlinks), opens it (a fresh copy truncates it, a resume keeps [0, OFFSET) and cuts the rest),
 * then reads frames (copy-frames.ts) from stdin, writes their data at their offsets (unsent blocks
 * stay holes), hashes it on receipt, acknowledges the written prefix and, at the end frame, sizes
 * the file, syncs it and prints its digest.
 * See docs/disk-copy.md.
 */
import { readSync } from 'node:fs';
import { lstat, open, realpath, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import { confineInstancePath, InstancePathError, isInside } from '../../virt/instance-paths';
import {
  decodeFrameHeader,
  FRAME_DATA,
  FRAME_END,
  FRAME_HEADER_BYTES,
  MAX_FRAME_BYTES,
  RECEIVER_EXIT,
} from './copy-frames';
import {
  DIGEST_ALGORITHM,
  DIGEST_BLOCK_BYTES,
  DigestBuilder,
  hashRange,
  PRE_OPTION_DIGEST_ALGORITHM,
} from './disk-digest';

class ReceiverExit extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** The lexical check, then the file's parent resolved on this host; the file is no symlink. */
async function confine(instancesDir: string, path: string): Promise<string> {
  try {
    const resolved = confineInstancePath(instancesDir, path);
    const [realDir, realParent] = await Promise.all([
      realpath(instancesDir),
      realpath(dirname(resolved)),
    ]);
    if (realParent !== realDir && !isInside(realDir, realParent)) {
      throw new InstancePathError(path, instancesDir, `parent resolves to ${realParent}`);
    }
    const stats = await lstat(resolved).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return null;
      throw error;
    });
    if (stats?.isSymbolicLink()) throw new InstancePathError(path, instancesDir, 'is a symlink');
    return resolved;
  } catch (error) {
    if (error instanceof InstancePathError) {
      throw new ReceiverExit(RECEIVER_EXIT.pathRefused, error.message);
    }
    throw error;
  }
}

async function openTarget(path: string, start: number, mode: number): Promise<FileHandle> {
  if (start === 0) return open(path, 'w', mode);
  try {
    return await open(path, 'r+');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new ReceiverExit(RECEIVER_EXIT.resumeTargetMissing, `${path} does not exist`);
    }
    throw error;
  }
}

/** Fills `buffer` from `fd`; false when the input ended before the first byte. */
function readFully(fd: number, buffer: Buffer): boolean {
  let filled = 0;
  while (filled < buffer.length) {
    let n: number;
    try {
      n = readSync(fd, buffer, filled, buffer.length - filled, null);
    } catch (error) {
      // A non-blocking stdin: wait a moment for data.
      if ((error as NodeJS.ErrnoException).code !== 'EAGAIN') throw error;
      Atomics.wait(PAUSE, 0, 0, 1);
      continue;
    }
    if (n === 0) {
      if (filled === 0) return false;
      throw new Error('input ended inside a frame');
    }
    filled += n;
  }
  return true;
}
const PAUSE = new Int32Array(new SharedArrayBuffer(4));

const WRITE_BYTES = 256 * 1024;
/** Received bytes after which the receiver has them flushed (fdatasync) while it receives more. */
const FLUSH_BYTES = 128 * 1024 * 1024;

/**
 * Writes `data` at `offset` in pieces of at most WRITE_BYTES. One large write makes the page
 * cache take one large folio for it, and where the hypervisor has taken back the guest's free
 * memory (free page reporting), large folios come from that memory and cost a fault on the host
 * per page: `dd bs=1M` into a new file spent 1.5 CPU-seconds per GiB in the kernel on the test
 * machine, `bs=256K` 0.22 (docs/disk-copy.md).
 */
async function writeAt(file: FileHandle, data: Buffer, offset: number): Promise<void> {
  for (let at = 0; at < data.length; at += WRITE_BYTES) {
    const piece = data.subarray(at, at + WRITE_BYTES);
    const { bytesWritten } = await file.write(piece, 0, piece.length, offset + at);
    if (bytesWritten !== piece.length) throw new Error(`short write at ${offset + at}`);
  }
}

/**
 * Reads frames from `input` (a file descriptor, read synchronously straight into the frame's
 * buffer), hashes and writes their data, and acknowledges each written frame's end.
 */
export async function receive(
  args: {
    /** The source's DIGEST_ALGORITHM; undefined from a source that predates `--digest`. */
    algorithm: string | undefined;
    instancesDir: string;
    path: string;
    start: number;
    mode: number;
  },
  input: number,
  output: (line: string) => void,
): Promise<void> {
  const { start } = args;
  if (args.algorithm !== DIGEST_ALGORITHM) {
    // Before anything is opened: the digests could never match (docs/disk-copy.md).
    output(`algorithm ${DIGEST_ALGORITHM}`);
    const source = args.algorithm ?? `${PRE_OPTION_DIGEST_ALGORITHM} (no --digest option)`;
    throw new ReceiverExit(
      RECEIVER_EXIT.digestAlgorithm,
      `digest algorithm mismatch: the source computes ${source}, this receiver ${DIGEST_ALGORITHM}; run the same ferry version on both hosts`,
    );
  }
  if (!Number.isSafeInteger(start) || start < 0 || start % DIGEST_BLOCK_BYTES !== 0) {
    throw new ReceiverExit(2, `resume offset ${start} is not a multiple of ${DIGEST_BLOCK_BYTES}`);
  }
  const path = await confine(args.instancesDir, args.path);
  const file = await openTarget(path, start, args.mode);
  try {
    await file.truncate(start);
    const digest = new DigestBuilder();
    await hashRange(digest, file, path, { start: 0, end: start });
    const header = Buffer.allocUnsafe(FRAME_HEADER_BYTES);
    // Two buffers: a frame is written on libuv's pool while the next one is read and hashed.
    const buffers = [Buffer.allocUnsafe(MAX_FRAME_BYTES), Buffer.allocUnsafe(MAX_FRAME_BYTES)];
    /** The write of each buffer's last frame; each also waits for the frames before it. */
    const writes: Array<Promise<void>> = [Promise.resolve(), Promise.resolve()];
    let turn = 0;
    let next = start;
    /** Written bytes not yet being flushed, and the flushes started while receiving. */
    let unflushed = 0;
    let flushed: Promise<void> = Promise.resolve();
    while (readFully(input, header)) {
      const frame = decodeFrameHeader(header);
      if (frame.offset < next) throw new Error(`frame at ${frame.offset} precedes ${next}`);
      if (frame.type === FRAME_END && frame.length === 0) {
        await writes[turn];
        await flushed;
        await file.truncate(frame.offset);
        await file.sync();
        output(`digest ${JSON.stringify(digest.finish(frame.offset))}`);
        return;
      }
      if (frame.type !== FRAME_DATA || frame.length === 0 || frame.length > MAX_FRAME_BYTES) {
        throw new Error(`bad frame: type ${frame.type}, ${frame.length} bytes`);
      }
      turn ^= 1;
      await writes[turn];
      const chunk = buffers[turn].subarray(0, frame.length);
      if (!readFully(input, chunk)) throw new Error('input ended inside a frame');
      digest.add(frame.offset, chunk);
      const end = frame.offset + frame.length;
      // Acknowledged in order: after this write and the one before it.
      const previous = writes[turn ^ 1];
      writes[turn] = Promise.all([previous, writeAt(file, chunk, frame.offset)]).then(() =>
        output(`ack ${end}`),
      );
      // A failure is raised where the write is awaited.
      writes[turn].catch(() => undefined);
      next = end;
      unflushed += frame.length;
      if (unflushed >= FLUSH_BYTES) {
        // The disk writes what is written so far while more arrives; the final sync is short.
        unflushed = 0;
        const written = writes[turn];
        flushed = flushed.then(async () => {
          await written;
          await file.datasync();
        });
        flushed.catch(() => undefined);
      }
    }
    throw new Error('input ended before the end frame: the copy did not finish');
  } finally {
    await file.close();
  }
}

if (require.main === module) {
  const { values, positionals } = parseArgs({
    options: {
      digest: { type: 'string' },
      'instances-dir': { type: 'string' },
      'resume-from': { type: 'string', default: '0' },
      mode: { type: 'string', default: '600' },
    },
    allowPositionals: true,
  });
  const [path] = positionals;
  if (values['instances-dir'] === undefined || path === undefined || positionals.length > 1) {
    process.stderr.write(
      'usage: node disk-receiver.js --digest ALGORITHM --instances-dir DIR [--resume-from N] [--mode OCTAL] FILE\n',
    );
    process.exit(2);
  }
  const args = {
    algorithm: values.digest,
    instancesDir: values['instances-dir'],
    path,
    start: Number(values['resume-from']),
    mode: parseInt(values.mode, 8),
  };
  receive(args, 0, (line) => process.stdout.write(`${line}\n`)).then(
    () => process.exit(0),
    (error: Error) => {
      process.stderr.write(`${error.message}\n`);
      process.exit(error instanceof ReceiverExit ? error.status : 1);
    },
  );
}
