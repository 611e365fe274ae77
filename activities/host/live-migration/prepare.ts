/**
 * The destination's preparation: the instance's directories and, for block migration, its disk
 * images, empty, in the source's format and virtual size (libvirt copies into them; without one,
 * it wants a storage pool covering the path to create it from). Idempotent: what already exists is
 * kept, and not reported as created.
 */
import { lstat, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { InstanceDisk } from '../../../workflows/operation-types';
import type { HostAgentContext } from '../index';
import { InstancePathError, resolveInstancePath } from '../../../virt/instance-paths';
import { qemuImgCreate, qemuImgInfo } from '../../../virt/qemu-img';
import { migrationFailure } from './failures';

type PrepareContext = Pick<HostAgentContext, 'hostName' | 'instancesDir'>;

export interface PrepareRequest {
  directories: string[];
  disks: InstanceDisk[];
  blockMigration: boolean;
}

async function confinedPath(context: PrepareContext, path: string, what: string) {
  try {
    return await resolveInstancePath(context.instancesDir, path);
  } catch (error) {
    if (!(error instanceof InstancePathError)) throw error;
    throw migrationFailure(
      'MigrationPreCheckError',
      `${what} on ${context.hostName}: ${error.message}`,
    );
  }
}

function confined(context: PrepareContext, disk: InstanceDisk): Promise<string> {
  return confinedPath(context, disk.path, `disk ${disk.target}`);
}

async function exists(path: string): Promise<boolean> {
  return lstat(path).then(
    () => true,
    (error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return false;
      throw error;
    },
  );
}

/** An image already at the path must be the one this migration would create. */
async function checkExisting(context: PrepareContext, path: string, disk: InstanceDisk) {
  const info = await qemuImgInfo(path);
  if (info.format !== disk.format || info.virtualSize !== disk.virtualSizeBytes) {
    throw migrationFailure(
      'MigrationPreCheckError',
      `${path} already exists on ${context.hostName} as ${info.format} of ` +
        `${info.virtualSize} bytes; disk ${disk.target} is ${disk.format} of ` +
        `${disk.virtualSizeBytes} bytes`,
    );
  }
}

/** Returns the directories (topmost created) and images it created, in creation order. */
export async function prepareDestination(
  context: PrepareContext,
  request: PrepareRequest,
): Promise<{ created: string[] }> {
  const created: string[] = [];
  for (const directory of request.directories) {
    const path = await confinedPath(context, directory, `directory ${directory}`);
    const dir = await mkdir(path, { recursive: true });
    if (dir !== undefined) created.push(dir);
  }
  for (const disk of request.disks) {
    const path = await confined(context, disk);
    const dir = await mkdir(dirname(path), { recursive: true });
    if (dir !== undefined) created.push(dir);
    if (!request.blockMigration) continue;
    if (await exists(path)) {
      await checkExisting(context, path, disk);
      continue;
    }
    await qemuImgCreate(path, disk.format, disk.virtualSizeBytes);
    created.push(path);
  }
  return { created };
}
