/**
 * The framed stream copyDisk sends to disk-receiver on the destination (docs/disk-copy.md):
 * each frame is a 16-byte header (type, length, offset; big-endian) followed, for data, by
 * `length` bytes to write at `offset`. The receiver answers on its stdout with lines
 * `ack <offset>` (every byte below offset that was sent is written) and, last,
 * `digest <json>`; or, refusing the source's digest algorithm, `algorithm <its own>`.
 */
export const FRAME_HEADER_BYTES = 16;
export const FRAME_DATA = 1;
/** The last frame: `offset` is the file's size; the receiver sizes, syncs and digests the file. */
export const FRAME_END = 2;
/** Largest data frame: one read chunk. */
export const MAX_FRAME_BYTES = 1024 * 1024;

/**
 * Exit statuses of disk-receiver that copyDisk turns into their own errors. `digestAlgorithm`:
 * the source asked for a digest algorithm (`--digest`) other than the receiver's, or for none.
 */
export const RECEIVER_EXIT = {
  resumeTargetMissing: 3,
  pathRefused: 4,
  digestAlgorithm: 5,
} as const;

export interface FrameHeader {
  type: number;
  length: number;
  offset: number;
}

export function encodeFrameHeader({ type, length, offset }: FrameHeader): Buffer {
  const header = Buffer.allocUnsafe(FRAME_HEADER_BYTES);
  header.writeUInt32BE(type, 0);
  header.writeUInt32BE(length, 4);
  header.writeBigUInt64BE(BigInt(offset), 8);
  return header;
}

export function decodeFrameHeader(header: Buffer): FrameHeader {
  const offset = header.readBigUInt64BE(8);
  if (offset > BigInt(Number.MAX_SAFE_INTEGER)) throw new RangeError(`frame offset ${offset}`);
  return { type: header.readUInt32BE(0), length: header.readUInt32BE(4), offset: Number(offset) };
}
