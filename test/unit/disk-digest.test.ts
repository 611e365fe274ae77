import { randomBytes } from 'node:crypto';
import { Blake3Hasher } from '@napi-rs/blake-hash';
import {
  DIGEST_ALGORITHM,
  DIGEST_BLOCK_BYTES,
  DigestBuilder,
} from '../../activities/host/disk-digest';

const BLOCK = DIGEST_BLOCK_BYTES;

function uint64(value: number): Buffer {
  const buf = Buffer.alloc(8);
  buf.writeBigUInt64BE(BigInt(value));
  return buf;
}

describe('DigestBuilder', () => {
  // Blocks 0 and 2 hold data, block 1 is zeros; the file has 5 blocks, the last two a hole.
  const [first, third] = [randomBytes(BLOCK), randomBytes(BLOCK)];
  const chunk = Buffer.concat([first, Buffer.alloc(BLOCK), third]);
  const size = 5 * BLOCK;

  test('is BLAKE3 of the tag, each non-zero block with its index, and the size', () => {
    const builder = new DigestBuilder();
    builder.add(0, chunk);

    const expected = new Blake3Hasher()
      .update(Buffer.from('ferry-sparse-blake3-v1\0'))
      .update(uint64(0))
      .update(first)
      .update(uint64(2))
      .update(third)
      .update(uint64(size))
      .digest('hex');
    expect(builder.finish(size)).toEqual({
      algorithm: 'ferry-sparse-blake3-v1',
      size,
      dataBytes: 2 * BLOCK,
      digest: expected,
    });
    expect(DIGEST_ALGORITHM).toBe('ferry-sparse-blake3-v1');
  });

  test('depends on the bytes and the size, not on what was a hole', () => {
    const dense = new DigestBuilder();
    dense.add(0, Buffer.concat([chunk, Buffer.alloc(2 * BLOCK)]));
    const sparse = new DigestBuilder();
    sparse.add(0, first);
    sparse.add(2 * BLOCK, third);
    const digest = dense.finish(size).digest;
    expect(sparse.finish(size).digest).toBe(digest);

    const longer = new DigestBuilder();
    longer.add(0, chunk);
    expect(longer.finish(size + BLOCK).digest).not.toBe(digest);
    const changed = new DigestBuilder();
    const flipped = Buffer.from(chunk);
    flipped[2 * BLOCK + 7] ^= 1;
    changed.add(0, flipped);
    expect(changed.finish(size).digest).not.toBe(digest);
  });

  test('refuses unaligned or out-of-order chunks', () => {
    const builder = new DigestBuilder();
    builder.add(BLOCK, first);
    expect(() => builder.add(0, third)).toThrow(RangeError);
    expect(() => builder.add(3 * BLOCK + 1, third)).toThrow(RangeError);
  });
});
