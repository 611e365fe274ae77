/** qemu-img on this host: inspect, create and grow disk images. */
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';

const TIMEOUT_MS = 10 * 60 * 1000;

export interface FileExtent {
  start: number;
  length: number;
}

export interface QemuImgInfo {
  format: string;
  virtualSize: number;
  actualSize: number;
  backingFilename?: string;
}

export class QemuImgError extends Error {
  override readonly name = 'QemuImgError';

  constructor(
    readonly argv: readonly string[],
    readonly stderr: string,
    cause: Error,
  ) {
    super(`qemu-img ${argv.join(' ')} failed: ${stderr.trim() || cause.message}`, { cause });
  }
}

export class QemuImgShrinkError extends Error {
  override readonly name = 'QemuImgShrinkError';

  constructor(
    readonly path: string,
    readonly virtualSize: number,
    readonly requestedSize: number,
  ) {
    super(`refusing to shrink ${path} from ${virtualSize} to ${requestedSize} bytes`);
  }
}

function qemuImg(argv: readonly string[]): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    execFile(
      'qemu-img',
      argv,
      { timeout: TIMEOUT_MS, maxBuffer: 256 * 1024 * 1024 },
      (error, stdout, stderr) =>
        error ? reject(new QemuImgError(argv, stderr, error)) : resolvePromise(stdout),
    );
  });
}

/** Absolute, so a name can be neither an option nor a "protocol:" pseudo-filename. */
function imagePath(path: string): string {
  return resolve(path);
}

function byteCount(sizeBytes: number): string {
  if (!Number.isSafeInteger(sizeBytes) || sizeBytes <= 0) {
    throw new RangeError(`invalid image size ${sizeBytes}`);
  }
  return String(sizeBytes);
}

/** `-U` reads the image even while a running VM holds its lock. */
export async function qemuImgInfo(path: string): Promise<QemuImgInfo> {
  const info = JSON.parse(await qemuImg(['info', '--output=json', '-U', imagePath(path)])) as {
    format: string;
    'virtual-size': number;
    'actual-size': number;
    'backing-filename'?: string;
  };
  return {
    format: info.format,
    virtualSize: info['virtual-size'],
    actualSize: info['actual-size'],
    ...(info['backing-filename'] === undefined
      ? {}
      : { backingFilename: info['backing-filename'] }),
  };
}

export async function qemuImgCreate(
  path: string,
  format: string,
  sizeBytes: number,
  backing?: { path: string; format: string },
): Promise<void> {
  const backingArgs = backing === undefined ? [] : ['-b', backing.path, '-F', backing.format];
  await qemuImg([
    'create',
    '-q',
    '-f',
    format,
    ...backingArgs,
    imagePath(path),
    byteCount(sizeBytes),
  ]);
}

/** Grows the image's virtual size; never shrinks it. */
export async function qemuImgResize(path: string, sizeBytes: number): Promise<void> {
  const { format, virtualSize } = await qemuImgInfo(path);
  if (sizeBytes < virtualSize) throw new QemuImgShrinkError(path, virtualSize, sizeBytes);
  await qemuImg(['resize', '-q', '-f', format, imagePath(path), byteCount(sizeBytes)]);
}

/**
 * Byte ranges of the file within [start, end) that hold data rather than holes, whatever its
 * image format: qemu-img maps the file as raw, through SEEK_DATA/SEEK_HOLE.
 */
export async function fileDataExtents(
  path: string,
  range: { start: number; end: number },
): Promise<FileExtent[]> {
  const window = [`--start-offset=${range.start}`, `--max-length=${range.end - range.start}`];
  const map = JSON.parse(
    await qemuImg(['map', '-f', 'raw', '--output=json', '-U', ...window, imagePath(path)]),
  ) as Array<FileExtent & { data: boolean }>;
  return map.filter((extent) => extent.data).map(({ start, length }) => ({ start, length }));
}
