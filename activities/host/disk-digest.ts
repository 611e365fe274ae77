/**
 * Sparse-aware reading of disk images, and a content digest built on it that hashes only non-zero
 * 64 KiB blocks: holes are skipped without being read and zero blocks without being hashed. Two
 * files have the same digest iff they have the same size and bytes, whatever their allocation.
 *
 * Also a command printing the digest of a file as one JSON line, for manual checks:
 *   node disk-digest.js FILE
 */
import { open, type FileHandle } from 'node:fs/promises';
import { Blake3Hasher } from '@napi-rs/blake-hash';
import { fileDataExtents, type FileExtent } from '../../virt/qemu-img';

/**
 * Named in the digest and passed to the receiver, which refuses any other (docs/disk-copy.md,
 * "Digest algorithm"). A change to what is hashed or how needs a new name.
 */
export const DIGEST_ALGORITHM = 'ferry-sparse-blake3-v1';
/** The algorithm of every copy end that predates the receiver's `--digest` option. */
export const PRE_OPTION_DIGEST_ALGORITHM = 'ferry-sparse-sha256-v1';
export const DIGEST_BLOCK_BYTES = 64 * 1024;
export const READ_BYTES = 16 * DIGEST_BLOCK_BYTES;
const ZERO_BLOCK = Buffer.alloc(DIGEST_BLOCK_BYTES);

export interface DiskDigest {
  /** DIGEST_ALGORITHM of the program that computed it. */
  algorithm: string;
  size: number;
  /** Bytes in non-zero blocks, i.e. the bytes that were hashed. */
  dataBytes: number;
  digest: string;
}

export class ImageChangedError extends Error {
  override readonly name = 'ImageChangedError';

  constructor(
    readonly path: string,
    readonly offset: number,
  ) {
    super(`${path}: short read at ${offset}: the file changed while being read`);
  }
}

export function isZeroBlock(block: Buffer): boolean {
  return block.equals(ZERO_BLOCK.subarray(0, block.length));
}

function uint64(value: number): Buffer {
  const buf = Buffer.allocUnsafe(8);
  buf.writeBigUInt64BE(BigInt(value));
  return buf;
}

/**
 * BLAKE3 of: tag, then for each non-zero block in file order its index and bytes, then the file
 * size. Chunks must be block-aligned and come in increasing offset order; holes are left out.
 */
export class DigestBuilder {
  private readonly hash = new Blake3Hasher().update(Buffer.from(`${DIGEST_ALGORITHM}\0`));
  private nextOffset = 0;
  private dataBytes = 0;

  add(offset: number, chunk: Buffer): void {
    if (offset % DIGEST_BLOCK_BYTES !== 0 || offset < this.nextOffset) {
      throw new RangeError(`digest chunk at ${offset} is unaligned or out of order`);
    }
    for (let start = 0; start < chunk.length; start += DIGEST_BLOCK_BYTES) {
      const block = chunk.subarray(start, start + DIGEST_BLOCK_BYTES);
      if (isZeroBlock(block)) continue;
      this.hash.update(uint64((offset + start) / DIGEST_BLOCK_BYTES)).update(block);
      this.dataBytes += block.length;
    }
    this.nextOffset = offset + chunk.length;
  }

  finish(size: number): DiskDigest {
    const digest = this.hash.update(uint64(size)).digest('hex');
    return { algorithm: DIGEST_ALGORITHM, size, dataBytes: this.dataBytes, digest };
  }
}

export interface ReadRange {
  offset: number;
  length: number;
}

/**
 * Ranges of at most READ_BYTES covering the data extents within [start, end), widened to whole
 * blocks. `start` must be a multiple of DIGEST_BLOCK_BYTES.
 */
export function* dataRanges(
  extents: readonly FileExtent[],
  start: number,
  end: number,
): Generator<ReadRange> {
  const block = DIGEST_BLOCK_BYTES;
  let cursor = start;
  for (const extent of extents) {
    const extentEnd = Math.min(end, Math.ceil((extent.start + extent.length) / block) * block);
    let offset = Math.max(cursor, Math.floor(extent.start / block) * block);
    while (offset < extentEnd) {
      const length = Math.min(READ_BYTES, extentEnd - offset);
      yield { offset, length };
      offset += length;
      cursor = offset;
    }
  }
}

export interface ReadChunk {
  offset: number;
  /** The bytes read: the start of `buffer`. */
  chunk: Buffer;
  buffer: Buffer;
}

/** Reads the ranges into READ_BYTES buffers obtained from `take`, one read ahead. */
export async function* readRanges(
  file: FileHandle,
  path: string,
  ranges: Iterable<ReadRange>,
  take: () => Promise<Buffer>,
): AsyncGenerator<ReadChunk> {
  const iterator = ranges[Symbol.iterator]();
  const readNext = async (): Promise<ReadChunk | undefined> => {
    const range = iterator.next();
    if (range.done) return undefined;
    const { offset, length } = range.value;
    const buffer = await take();
    const { bytesRead } = await file.read(buffer, 0, length, offset);
    if (bytesRead !== length) throw new ImageChangedError(path, offset + bytesRead);
    return { offset, chunk: buffer.subarray(0, length), buffer };
  };
  let next = readNext();
  try {
    for (let read = await next; read !== undefined; read = await next) {
      next = readNext();
      yield read;
    }
  } finally {
    await next.catch(() => undefined);
  }
}

/** Two buffers: one is hashed while the other is being read. */
function bufferPair(): () => Promise<Buffer> {
  const buffers = [Buffer.allocUnsafe(READ_BYTES), Buffer.allocUnsafe(READ_BYTES)];
  let turn = 0;
  return async () => buffers[(turn ^= 1)];
}

/** Adds the data of [start, end) to `builder`, finding it with one qemu-img map. */
export async function hashRange(
  builder: DigestBuilder,
  file: FileHandle,
  path: string,
  range: { start: number; end: number },
  signal?: AbortSignal,
): Promise<void> {
  if (range.end <= range.start) return;
  const extents = await fileDataExtents(path, range);
  const ranges = dataRanges(extents, range.start, range.end);
  for await (const { offset, chunk } of readRanges(file, path, ranges, bufferPair())) {
    signal?.throwIfAborted();
    builder.add(offset, chunk);
  }
}

export async function diskDigest(path: string, signal?: AbortSignal): Promise<DiskDigest> {
  const file = await open(path, 'r');
  try {
    const size = (await file.stat()).size;
    const builder = new DigestBuilder();
    await hashRange(builder, file, path, { start: 0, end: size }, signal);
    return builder.finish(size);
  } finally {
    await file.close();
  }
}

if (require.main === module) {
  const args = process.argv.slice(2);
  const [path, ...extra] = args;
  if (path === undefined || extra.length > 0) {
    process.stderr.write('usage: node disk-digest.js FILE\n');
    process.exit(2);
  }
  diskDigest(path).then(
    (digest) => process.stdout.write(`${JSON.stringify(digest)}\n`),
    (error: Error) => {
      process.stderr.write(`${error.message}\n`);
      process.exit(1);
    },
  );
}
