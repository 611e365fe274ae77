/**
 * The lab guest's kernel and initramfs, built once into `<cacheDir>/guest` from Debian's cloud
 * kernel and busybox-static packages: downloaded with `apt-get download` and unpacked with
 * `dpkg-deb -x`, never installed.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { chmod, copyFile, mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { run } from './command';
import { exists } from './exists';
import { GUEST_INIT, GUEST_MODULES } from './guest-init';

export interface GuestImage {
  kernel: string;
  initrd: string;
}

const KERNEL_META_PACKAGE = 'linux-image-cloud-amd64';

/** The versioned kernel package the meta package currently depends on. */
async function kernelPackage(): Promise<string> {
  const depends = await run('apt-cache', ['depends', KERNEL_META_PACKAGE]);
  const match = /Depends: (linux-image-\S+-cloud-amd64)\n/.exec(depends);
  if (!match) throw new Error(`lab: cannot resolve ${KERNEL_META_PACKAGE}:\n${depends}`);
  return match[1];
}

async function downloadPackages(packagesDir: string): Promise<void> {
  if (await exists(packagesDir)) return;
  const partial = `${packagesDir}.partial-${process.pid}`;
  await rm(partial, { recursive: true, force: true });
  await mkdir(partial, { recursive: true });
  const packages = [await kernelPackage(), 'busybox-static'];
  await run('apt-get', ['download', '-q', '-o', 'APT::Sandbox::User=root', ...packages], {
    cwd: partial,
    timeoutMs: 300_000,
  });
  await rename(partial, packagesDir);
}

async function unpack(packagesDir: string, into: string): Promise<void> {
  await mkdir(into, { recursive: true });
  for (const deb of await readdir(packagesDir)) {
    await run('dpkg-deb', ['-x', join(packagesDir, deb), into], { timeoutMs: 120_000 });
  }
}

/** Lays out the initramfs tree: busybox, /init, and the virtio disk modules. */
async function initramfsTree(unpacked: string, tree: string): Promise<void> {
  const [kernelVersion] = await readdir(join(unpacked, 'lib', 'modules'));
  for (const dir of ['bin', 'dev', 'proc', 'sys', 'lib/modules'])
    await mkdir(join(tree, dir), { recursive: true });
  await copyFile(join(unpacked, 'bin', 'busybox'), join(tree, 'bin', 'busybox'));
  await writeFile(join(tree, 'init'), GUEST_INIT);
  await chmod(join(tree, 'init'), 0o755);
  for (const module of GUEST_MODULES) {
    const from = join(unpacked, 'lib', 'modules', kernelVersion, 'kernel', module);
    await copyFile(from, join(tree, 'lib', 'modules', basename(module)));
  }
}

/** Packs `tree` as a gzip-compressed newc cpio archive with the unpacked busybox's cpio. */
async function packCpio(busybox: string, tree: string, archive: string): Promise<void> {
  const entries = ['.', ...(await readdir(tree, { recursive: true }))];
  const cpio = spawn(busybox, ['cpio', '-o', '-H', 'newc'], {
    cwd: tree,
    stdio: ['pipe', 'pipe', 'ignore'],
  });
  const exited = new Promise<number | null>((resolve) => cpio.on('close', resolve));
  cpio.stdin.end(`${entries.join('\n')}\n`);
  await pipeline(cpio.stdout, createGzip(), createWriteStream(archive));
  const code = await exited;
  if (code !== 0) throw new Error(`lab: cpio exited with ${code} packing ${tree}`);
}

async function build(dir: string, image: GuestImage): Promise<void> {
  const packagesDir = join(dir, 'packages');
  await downloadPackages(packagesDir);
  const work = join(dir, `build-${process.pid}`);
  await rm(work, { recursive: true, force: true });
  try {
    const unpacked = join(work, 'unpacked');
    await unpack(packagesDir, unpacked);
    const tree = join(work, 'initramfs');
    await initramfsTree(unpacked, tree);
    await packCpio(join(unpacked, 'bin', 'busybox'), tree, join(work, 'initrd.img'));
    const [vmlinuz] = (await readdir(join(unpacked, 'boot'))).filter((name) =>
      name.startsWith('vmlinuz-'),
    );
    await rename(join(unpacked, 'boot', vmlinuz), image.kernel);
    await rename(join(work, 'initrd.img'), image.initrd);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** The guest image, built first if this cache does not hold one for the current /init. */
export async function ensureGuestImage(cacheDir: string): Promise<GuestImage> {
  const dir = join(cacheDir, 'guest');
  const version = createHash('sha256')
    .update(GUEST_INIT)
    .update(GUEST_MODULES.join())
    .digest('hex');
  const image = {
    kernel: join(dir, 'vmlinuz'),
    initrd: join(dir, `initrd-${version.slice(0, 12)}.img`),
  };
  if ((await exists(image.kernel)) && (await exists(image.initrd))) return image;
  await mkdir(dir, { recursive: true });
  await build(dir, image);
  return image;
}
