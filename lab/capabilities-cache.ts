/**
 * libvirt's QEMU capabilities cache, kept warm across labs: a fresh daemon probes QEMU for 5 to
 * 12 s on its first connection; one given a copy of a cache from the same machine answers at once.
 */
import { cp, mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { rootNamespacePath } from './layout';

const IN_HOST = '/var/cache/libvirt/qemu/capabilities';

function labCopy(cacheDir: string): string {
  return join(cacheDir, 'qemu-capabilities');
}

function hostCopy(rootPath: string): string {
  return rootNamespacePath(rootPath, IN_HOST);
}

async function probeFiles(dir: string): Promise<string[]> {
  const names = await readdir(dir).catch(() => []);
  return names.filter((name) => name.endsWith('.xml'));
}

export async function isWarm(cacheDir: string): Promise<boolean> {
  return (await probeFiles(labCopy(cacheDir))).length > 0;
}

async function copyProbes(from: string, to: string): Promise<void> {
  await mkdir(to, { recursive: true });
  for (const name of await probeFiles(from)) await cp(join(from, name), join(to, name));
}

/** Gives a host (not yet started) the lab's cached probe results. */
export async function seedHost(cacheDir: string, rootPath: string): Promise<void> {
  await copyProbes(labCopy(cacheDir), hostCopy(rootPath));
}

/** Keeps the probe results of a host whose daemon has answered a capabilities call. */
export async function saveFromHost(cacheDir: string, rootPath: string): Promise<void> {
  await copyProbes(hostCopy(rootPath), labCopy(cacheDir));
}
