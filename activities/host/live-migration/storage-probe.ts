/**
 * The shared-storage test of the live migration's pre-check, as Nova does it: the destination
 * writes a uniquely named file into its instances dir, and the source looks for it in its own.
 */
import { randomUUID } from 'node:crypto';
import { access, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { migrationFailure } from './failures';

const PROBE_PREFIX = '.ferry-storage-probe-';
const PROBE_NAME = /^\.ferry-storage-probe-[0-9a-f]{8}(?:-[0-9a-f]{4}){3}-[0-9a-f]{12}$/;

/** The probe's path; refuses anything but a probe name, so no other file can be named. */
function probePath(instancesDir: string, storageProbe: string): string {
  if (!PROBE_NAME.test(storageProbe)) {
    throw migrationFailure('MigrationPreCheckError', `not a storage probe name: ${storageProbe}`);
  }
  return join(instancesDir, storageProbe);
}

/** Writes a new probe file (its content names the writer) and returns its name. */
export async function writeStorageProbe(instancesDir: string, hostName: string): Promise<string> {
  const name = `${PROBE_PREFIX}${randomUUID()}`;
  await writeFile(probePath(instancesDir, name), `${hostName}\n`, { flag: 'wx', mode: 0o600 });
  return name;
}

export async function hasStorageProbe(
  instancesDir: string,
  storageProbe: string,
): Promise<boolean> {
  try {
    await access(probePath(instancesDir, storageProbe));
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
}

export async function removeStorageProbe(
  instancesDir: string,
  storageProbe: string,
): Promise<void> {
  await rm(probePath(instancesDir, storageProbe), { force: true });
}
