/**
 * Bind mounts need their target to exist in the root filesystem (e.g. /var/lib/ferry/instances on
 * a machine without ferry). The lab creates missing ones, empty, and removes them when it goes.
 */
import { mkdir, rmdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { exists } from './exists';
import { HOST_PRIVATE_DIRS, INSTANCES_DIR } from './layout';

/** Creates missing mount points; returns the directories it created, deepest first. */
export async function createMountPoints(): Promise<string[]> {
  const created: string[] = [];
  for (const target of HOST_PRIVATE_DIRS) {
    const absent: string[] = [];
    for (let dir: string = target; !(await exists(dir)); dir = dirname(dir)) absent.push(dir);
    await mkdir(target, { recursive: true });
    created.push(...absent);
  }
  return created;
}

/** Removes directories the lab created, each only if still empty. */
export async function removeMountPoints(created: string[]): Promise<void> {
  for (const dir of created) await rmdir(dir).catch(() => undefined);
}

/**
 * With no record of what the lab created, the only mount points it can have made that a Debian
 * machine lacks: the instances dir and its parent, removed only if empty.
 */
export function likelyCreatedMountPoints(): string[] {
  return [INSTANCES_DIR, dirname(INSTANCES_DIR)];
}
