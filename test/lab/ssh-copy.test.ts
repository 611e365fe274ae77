import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  mkdir,
  mkdtemp,
  open,
  readdir,
  readFile,
  realpath,
  rm,
  stat,
  symlink,
  writeFile,
} from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { promisify } from 'node:util';
import {
  ChecksumMismatchError,
  CopyAbortedError,
  copyDisk,
  DigestAlgorithmMismatchError,
  diskCopyBytes,
  type CopyDiskOptions,
  type CopyProgress,
} from '../../activities/host/copy-disk';
import { DIGEST_ALGORITHM, diskDigest } from '../../activities/host/disk-digest';
import { InstancePathError } from '../../virt/instance-paths';
import {
  QemuImgError,
  QemuImgShrinkError,
  qemuImgCreate,
  qemuImgInfo,
  qemuImgResize,
} from '../../virt/qemu-img';
import { detectSharedStorage } from '../../activities/host/shared-storage';
import {
  exec,
  fingerprint,
  HostKeyMismatchError,
  parseHostPublicKey,
  SshExecError,
  withSsh,
  type SshTarget,
} from '../../activities/host/ssh';
import { INSTANCES_DIR, rootNamespacePath, type LabHost } from '../../lab';
import { useLab } from '../support/lab';

const execFileAsync = promisify(execFile);
const MiB = 1024 * 1024;

/**
 * Copies from lab host1's instances dir to lab host2's, through host2's real sshd (reached from
 * the root namespace through the lab's unix socket relay) with host1's key, checking host2's key.
 */
const lab = useLab();
let host1: LabHost;
let host2: LabHost;
let clientKey: Buffer;
let root: string;
/** host1's instances subdirectory, as this (root-namespace) process sees it. */
let srcDir: string;
/** host2's instances subdirectory, as host2 sees it. */
const dstDir = join(INSTANCES_DIR, 'copy-test');
/** The same directory of host2, as this process sees it. */
let dstDirHere: string;
let receiverCommand: string[];
/** The receiver of the last commit whose digest was ferry-sparse-sha256-v1, before `--digest`. */
const SHA256_RECEIVER_COMMIT = '4c8a036922c9e18f21e2b7d059bd5acb1d7a053f';
let sha256ReceiverCommand: string[];

const target = (): SshTarget => ({
  host: host2.address,
  port: host2.sshPort,
  username: 'root',
  privateKey: clientKey,
  hostPublicKey: host2.sshHostPublicKey,
  sock: connect(host2.sshSocket),
});

/** A sparse image of `size` bytes with random 1 MiB extents at the given MiB offsets. */
async function sparseImage(path: string, size: number, dataAtMiB: number[]): Promise<number> {
  const file = await open(path, 'w');
  try {
    await file.truncate(size);
    for (const at of dataAtMiB) await file.write(randomBytes(MiB), 0, MiB, at * MiB);
  } finally {
    await file.close();
  }
  return dataAtMiB.length * MiB;
}

async function sha256sum(path: string): Promise<string> {
  const { stdout } = await execFileAsync('sha256sum', [path]);
  return stdout.split(' ')[0];
}

const allocated = async (path: string) => (await stat(path)).blocks * 512;

function copyOptions(name: string, extra: Partial<CopyDiskOptions> = {}): CopyDiskOptions {
  return {
    source: join(srcDir, name),
    dest: { ...target(), path: join(dstDir, name) },
    instancesDir: srcDir,
    destInstancesDir: dstDir,
    destReceiverCommand: receiverCommand,
    ...extra,
  };
}

beforeAll(async () => {
  [host1, host2] = lab.state.hosts;
  clientKey = await readFile(host1.sshClientKeyPath);
  root = await mkdtemp(join(tmpdir(), 'ferry-copy-'));
  srcDir = rootNamespacePath(host1.rootPath, join(INSTANCES_DIR, 'copy-test'));
  dstDirHere = rootNamespacePath(host2.rootPath, dstDir);
  await mkdir(srcDir, { recursive: true });
  await mkdir(dstDirHere, { recursive: true });
  // The destination runs the compiled receiver, as it would from ferry's dist/ there.
  // rootDir keeps the tree's layout, so the script finds what it imports from virt/, and
  // node_modules beside dist/ its packages (the digest's BLAKE3), as in an installed ferry.
  const compileReceiver = async (tree: string, ferry: string): Promise<string[]> => {
    const outDir = join(ferry, 'dist');
    await mkdir(ferry, { recursive: true });
    await symlink(
      await realpath(join(__dirname, '../../node_modules')),
      join(ferry, 'node_modules'),
    );
    await execFileAsync(process.execPath, [
      require.resolve('typescript/bin/tsc'),
      ...['--outDir', outDir, '--rootDir', tree, '--module', 'node16'],
      ...['--target', 'es2022', '--types', 'node', '--skipLibCheck', '--strict'],
      join(tree, 'activities/host/disk-receiver.ts'),
    ]);
    return [process.execPath, join(outDir, 'activities', 'host', 'disk-receiver.js')];
  };
  receiverCommand = await compileReceiver(join(__dirname, '../..'), join(root, 'ferry'));
  // An older ferry's receiver, as on a destination not yet upgraded.
  const oldTree = join(root, 'ferry-sha256');
  await mkdir(oldTree);
  await execFileAsync('sh', [
    '-c',
    'git -C "$1" archive "$2" activities config virt | tar -x -C "$3"',
    'sh',
    ...[join(__dirname, '../..'), SHA256_RECEIVER_COMMIT, oldTree],
  ]);
  sha256ReceiverCommand = await compileReceiver(oldTree, oldTree);
});

afterAll(async () => {
  if (root !== undefined) await rm(root, { recursive: true, force: true });
});

describe('ssh', () => {
  test('exec quotes argv and returns code, stdout and stderr', async () => {
    const tricky = `it's "quoted" $HOME \`id\` ; rm -rf / *`;
    const result = await withSsh(target(), (conn) =>
      exec(conn, ['sh', '-c', 'printf %s "$1"; echo oops >&2; exit 3', 'sh', tricky]),
    );
    expect(result).toEqual({ code: 3, signal: null, stdout: tricky, stderr: 'oops\n' });
  });

  test('exec gives up on timeout or abort', async () => {
    // `sleep 5` left to end would resolve with code 0: a rejection is the timeout's or the abort's.
    await withSsh(target(), async (conn) => {
      await expect(exec(conn, ['sleep', '5'], { timeoutMs: 300 })).rejects.toThrow(/timed out/);
      const controller = new AbortController();
      setTimeout(() => controller.abort(), 300);
      const aborted = exec(conn, ['sleep', '5'], { signal: controller.signal });
      await expect(aborted).rejects.toThrow(SshExecError);
      await expect(aborted).rejects.toThrow(/aborted/);
    });
  });

  test('a wrong stored host key is refused before authenticating', async () => {
    const sshdLog = rootNamespacePath(host2.rootPath, '/var/log/sshd.log');
    const accepted = async () =>
      (await readFile(sshdLog, 'utf8')).split('Accepted publickey').length;
    const before = await accepted();

    // host1's key is a real lab host key, just not host2's.
    const wrongKey = host1.sshHostPublicKey;
    const connecting = withSsh({ ...target(), hostPublicKey: wrongKey }, () =>
      Promise.reject(new Error('must not connect')),
    );
    const error = await connecting.catch((caught: unknown) => caught);

    expect(error).toBeInstanceOf(HostKeyMismatchError);
    const mismatch = error as HostKeyMismatchError;
    const keyFile = join(root, 'host2.pub');
    await writeFile(keyFile, `${host2.sshHostPublicKey}\n`);
    const { stdout } = await execFileAsync('ssh-keygen', ['-l', '-f', keyFile]);
    expect(mismatch.host).toBe(host2.address);
    expect(mismatch.actualFingerprint).toBe(stdout.split(' ')[1]);
    expect(mismatch.expectedFingerprint).toBe(fingerprint(parseHostPublicKey('x', wrongKey).blob));
    expect(mismatch.message).toContain(mismatch.actualFingerprint);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(await accepted()).toBe(before);
  });

  test('tells shared from host-local instances dirs', async () => {
    // /tmp is the same directory on every lab host; the instances dir is each host's own.
    const shared = await mkdtemp(join(tmpdir(), 'ferry-shared-'));
    await expect(withSsh(target(), (conn) => detectSharedStorage(conn, shared))).resolves.toBe(
      true,
    );
    await expect(
      withSsh(target(), (conn) => detectSharedStorage(conn, INSTANCES_DIR)),
    ).resolves.toBe(false);
    expect(await readdir(shared)).toEqual([]);
    await rm(shared, { recursive: true });
  });
});

describe('copyDisk', () => {
  test('copies a sparse image, sending and allocating only its data', async () => {
    const size = 512 * MiB;
    const data = await sparseImage(
      join(srcDir, 'sparse.raw'),
      size,
      [0, 3, 64, 100, 257, 400, 480],
    );
    const progress: CopyProgress[] = [];
    const counted = async () => (await diskCopyBytes.get()).values[0].value;
    const countedBefore = await counted();

    const result = await copyDisk(
      copyOptions('sparse.raw', { onProgress: (p) => progress.push(p) }),
    );

    const [src, dst] = [join(srcDir, 'sparse.raw'), join(dstDirHere, 'sparse.raw')];
    expect(result.bytes).toBe(size);
    expect(result.bytesSent).toBe(data);
    // ferry_disk_copy_bytes_total of the agent's /metrics.
    expect((await counted()) - countedBefore).toBe(data);
    expect((await stat(dst)).size).toBe(size);
    expect(result.digest).toBe((await diskDigest(dst)).digest);
    expect(await sha256sum(dst)).toBe(await sha256sum(src));
    expect(Math.abs((await allocated(dst)) - (await allocated(src)))).toBeLessThanOrEqual(MiB);
    expect(progress.at(-1)).toEqual({ bytesDone: size, bytesSent: data, totalBytes: size });
    const done = progress.map((p) => p.bytesDone);
    expect(done).toEqual([...done].sort((a, b) => a - b));
  });

  test('resumes an aborted copy, sending only the rest', async () => {
    const size = 512 * MiB;
    const extents = Array.from({ length: 32 }, (_, i) => i * 16 + 5);
    const data = await sparseImage(join(srcDir, 'resume.raw'), size, extents);
    const controller = new AbortController();
    let resumeFrom = 0;

    const first = copyDisk(
      copyOptions('resume.raw', {
        signal: controller.signal,
        onProgress: ({ bytesDone }) => {
          resumeFrom = bytesDone;
          if (bytesDone >= size / 2) controller.abort(new Error('operator cancelled'));
        },
      }),
    );
    const error = await first.catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(CopyAbortedError);
    expect((error as CopyAbortedError).bytesDone).toBeGreaterThanOrEqual(resumeFrom);
    expect(resumeFrom).toBeGreaterThanOrEqual(size / 2);
    expect(resumeFrom).toBeLessThan(size);

    const second = await copyDisk(copyOptions('resume.raw', { resumeFrom }));

    const [src, dst] = [join(srcDir, 'resume.raw'), join(dstDirHere, 'resume.raw')];
    expect(second.bytesSent).toBeGreaterThan(0);
    expect(second.bytesSent).toBeLessThan(0.6 * data);
    expect(await sha256sum(dst)).toBe(await sha256sum(src));
    expect(second.digest).toBe((await diskDigest(src)).digest);
  });

  test('after a cut connection, resumes from the offset the receiver acknowledged', async () => {
    const size = 512 * MiB;
    const extents = Array.from({ length: 32 }, (_, i) => i * 16 + 5);
    const data = await sparseImage(join(srcDir, 'cut.raw'), size, extents);
    const [src, dst] = [join(srcDir, 'cut.raw'), join(dstDirHere, 'cut.raw')];
    const sock = connect(host2.sshSocket);
    let resumeFrom = 0;

    // The injected failure: the connection is cut at the first progress report past half.
    const first = copyDisk(
      copyOptions('cut.raw', {
        dest: { ...target(), sock, path: join(dstDir, 'cut.raw') },
        onProgress: ({ bytesDone }) => {
          if (resumeFrom > 0 || bytesDone < size / 2) return;
          resumeFrom = bytesDone;
          sock.destroy();
        },
      }),
    );
    await expect(first).rejects.toThrow();
    expect(resumeFrom).toBeGreaterThanOrEqual(size / 2);
    expect(resumeFrom).toBeLessThan(size);
    // Every byte below the acknowledged offset is on the destination.
    const prefix = async (path: string) => {
      const { stdout } = await execFileAsync('sh', [
        '-c',
        'head -c "$1" "$2" | sha256sum',
        'sh',
        String(resumeFrom),
        path,
      ]);
      return stdout;
    };
    expect(await prefix(dst)).toBe(await prefix(src));

    const second = await copyDisk(copyOptions('cut.raw', { resumeFrom }));

    expect(second.bytesSent).toBeGreaterThan(0);
    expect(second.bytesSent).toBeLessThan(0.6 * data);
    expect(await sha256sum(dst)).toBe(await sha256sum(src));
    expect(second.digest).toBe((await diskDigest(src)).digest);
  });

  test('the receiver refuses a destination that leads out of its instances dir', async () => {
    await sparseImage(join(srcDir, 'confined.raw'), MiB, [0]);
    const outside = await mkdtemp(join(tmpdir(), 'ferry-outside-'));
    await writeFile(join(outside, 'victim.raw'), 'keep');
    await symlink(outside, join(dstDirHere, 'escape'));
    await symlink(join(outside, 'victim.raw'), join(dstDirHere, 'victim.raw'));

    await expect(
      copyDisk({
        ...copyOptions('confined.raw'),
        dest: { ...target(), path: join(dstDir, 'escape', 'disk.raw') },
      }),
    ).rejects.toThrow(InstancePathError);
    await expect(
      copyDisk({
        ...copyOptions('confined.raw'),
        dest: { ...target(), path: join(dstDir, 'victim.raw') },
      }),
    ).rejects.toThrow(InstancePathError);
    expect(await readdir(outside)).toEqual(['victim.raw']);
    expect(await readFile(join(outside, 'victim.raw'), 'utf8')).toBe('keep');
    await rm(outside, { recursive: true });
  });

  test('does not copy to a host whose key is not the pinned one', async () => {
    await sparseImage(join(srcDir, 'pinned.raw'), MiB, [0]);

    await expect(
      copyDisk({
        ...copyOptions('pinned.raw'),
        dest: {
          ...target(),
          hostPublicKey: host1.sshHostPublicKey,
          path: join(dstDir, 'pinned.raw'),
        },
      }),
    ).rejects.toThrow(HostKeyMismatchError);
    await expect(stat(join(dstDirHere, 'pinned.raw'))).rejects.toThrow(/ENOENT/);
  });

  test('a resume over a corrupted destination fails the checksum', async () => {
    await sparseImage(join(srcDir, 'corrupt.raw'), 8 * MiB, [0, 1, 6]);
    await copyDisk(copyOptions('corrupt.raw'));
    const dst = await open(join(dstDirHere, 'corrupt.raw'), 'r+');
    await dst.write(Buffer.from('garbage'), 0, 7, 4096);
    await dst.close();

    await expect(copyDisk(copyOptions('corrupt.raw', { resumeFrom: 4 * MiB }))).rejects.toThrow(
      ChecksumMismatchError,
    );
  });

  test('a receiver with another digest algorithm fails the copy, naming both', async () => {
    await sparseImage(join(srcDir, 'algorithm.raw'), 8 * MiB, [0, 5]);
    const dst = join(dstDirHere, 'algorithm.raw');
    const names = (error: unknown) => {
      expect(error).toBeInstanceOf(DigestAlgorithmMismatchError);
      const { message } = error as Error;
      expect(message).toContain(DIGEST_ALGORITHM);
      expect(message).toContain('ferry-sparse-sha256-v1');
    };

    // The older receiver refuses --digest before it opens anything.
    const refused = await copyDisk(
      copyOptions('algorithm.raw', { destReceiverCommand: sha256ReceiverCommand }),
    ).catch((caught: unknown) => caught);
    names(refused);
    await expect(stat(dst)).rejects.toThrow(/ENOENT/);

    // One that ignores --digest copies and reports its digest: its algorithm fails the copy.
    const dropDigest = '[ "$2" = --digest ] || exit 99; js=$1; shift 3; exec "$0" "$js" "$@"';
    const ignored = await copyDisk(
      copyOptions('algorithm.raw', {
        destReceiverCommand: ['sh', '-c', dropDigest, ...sha256ReceiverCommand],
      }),
    ).catch((caught: unknown) => caught);
    names(ignored);
    expect(await sha256sum(dst)).toBe(await sha256sum(join(srcDir, 'algorithm.raw')));
    await rm(dst);

    // An older source passes no --digest: this receiver refuses it, naming both, and writes nothing.
    const olderSource = [
      ...receiverCommand,
      ...['--instances-dir', dstDir, '--resume-from', '0', '--mode', '600'],
      join(dstDir, 'algorithm.raw'),
    ];
    const result = await withSsh(target(), (conn) => exec(conn, olderSource));
    expect(result.code).toBe(5);
    expect(result.stdout).toBe(`algorithm ${DIGEST_ALGORITHM}\n`);
    expect(result.stderr).toContain(DIGEST_ALGORITHM);
    expect(result.stderr).toContain('ferry-sparse-sha256-v1');
    await expect(stat(dst)).rejects.toThrow(/ENOENT/);
  });

  test('refuses paths outside the instances dirs before connecting', async () => {
    await sparseImage(join(srcDir, 'ok.raw'), MiB, [0]);
    const sock = new PassThrough();
    const written: Buffer[] = [];
    sock.on('data', (chunk: Buffer) => written.push(chunk));
    const dest = { ...target(), sock };

    await expect(
      copyDisk({ ...copyOptions('ok.raw'), dest: { ...dest, path: join(root, 'escape.raw') } }),
    ).rejects.toThrow(InstancePathError);
    await expect(
      copyDisk({ ...copyOptions('ok.raw'), dest: { ...dest, path: `${dstDir}/../escape.raw` } }),
    ).rejects.toThrow(InstancePathError);
    await expect(
      copyDisk({ ...copyOptions('ok.raw'), source: '/etc/passwd', dest: { ...dest, path: 'x' } }),
    ).rejects.toThrow(InstancePathError);
    expect(written).toEqual([]);
  });
});

describe('qemu-img', () => {
  test('creates, inspects and grows an image, and refuses to shrink it', async () => {
    const base = join(root, 'base.qcow2');
    const overlay = join(root, 'overlay.qcow2');
    await qemuImgCreate(base, 'qcow2', 64 * MiB);
    await qemuImgCreate(overlay, 'qcow2', 64 * MiB, { path: base, format: 'qcow2' });

    const info = await qemuImgInfo(base);
    expect(info).toEqual({
      format: 'qcow2',
      virtualSize: 64 * MiB,
      actualSize: expect.any(Number),
    });
    expect((await qemuImgInfo(overlay)).backingFilename).toBe(base);

    await qemuImgResize(base, 128 * MiB);
    expect((await qemuImgInfo(base)).virtualSize).toBe(128 * MiB);
    await expect(qemuImgResize(base, 64 * MiB)).rejects.toThrow(QemuImgShrinkError);
    expect((await qemuImgInfo(base)).virtualSize).toBe(128 * MiB);
  });

  test('errors carry qemu-img stderr', async () => {
    const error = await qemuImgInfo(join(root, 'missing.qcow2')).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(QemuImgError);
    expect((error as QemuImgError).stderr).toMatch(/No such file/);
  });
});
