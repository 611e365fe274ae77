/**
 * Where a resize finds and puts an instance's files on a host: its instance dir (the directory
 * right under the instances dir that holds its disks) and Nova's aside dir beside it,
 * `<instance dir>_resize`, which keeps the source's disks until the resize is confirmed or
 * reverted. Paths are confined to the instances dir lexically here; callers resolve them
 * (resolveInstancePath) before touching the filesystem.
 */
import { lstat, mkdir, rename, rmdir } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { InstancePathError, confineInstancePath, isInside } from '../../../virt/instance-paths';

export const ASIDE_SUFFIX = '_resize';

/** The instance dir holding every disk path; null when there is no disk. */
export function instanceDirOf(instancesDir: string, diskPaths: readonly string[]): string | null {
  const dirs = new Set<string>();
  for (const path of diskPaths) {
    const relativePath = relative(resolve(instancesDir), confineInstancePath(instancesDir, path));
    if (!relativePath.includes(sep)) {
      throw new InstancePathError(path, instancesDir, 'not inside an instance directory');
    }
    dirs.add(join(resolve(instancesDir), relativePath.split(sep)[0]));
  }
  if (dirs.size > 1) {
    throw new InstancePathError(
      diskPaths.join(', '),
      instancesDir,
      `disks in several instance directories (${[...dirs].join(', ')})`,
    );
  }
  return dirs.values().next().value ?? null;
}

export function asideDirOf(instanceDir: string): string {
  return `${instanceDir}${ASIDE_SUFFIX}`;
}

/** Checks that `asideDir` is an aside dir inside the instances dir; returns it normalized. */
export function confineAsideDir(instancesDir: string, asideDir: string): string {
  const dir = confineInstancePath(instancesDir, asideDir);
  if (!basename(dir).endsWith(ASIDE_SUFFIX) || basename(dir) === ASIDE_SUFFIX) {
    throw new InstancePathError(asideDir, instancesDir, `not an aside dir (*${ASIDE_SUFFIX})`);
  }
  return dir;
}

/** Where a disk of the instance lies while it is set aside in `asideDir`. */
export function asidePath(instancesDir: string, asideDir: string, diskPath: string): string {
  const dir = confineAsideDir(instancesDir, asideDir);
  const instanceDir = dir.slice(0, -ASIDE_SUFFIX.length);
  const path = confineInstancePath(instancesDir, diskPath);
  if (!isInside(instanceDir, path)) {
    throw new InstancePathError(diskPath, instancesDir, `not inside ${instanceDir}`);
  }
  return join(dir, relative(instanceDir, path));
}

/** The absolute paths among `paths` that lie inside the instances dir (lexically). */
export function insideInstancesDir(instancesDir: string, paths: readonly string[]): string[] {
  const root = resolve(instancesDir);
  return paths.filter((path) => isAbsolute(path) && isInside(root, resolve(path)));
}

export async function pathExists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
}

/** A rename within one filesystem, creating the target's directory first. */
export async function moveFile(from: string, to: string): Promise<void> {
  await mkdir(dirname(to), { recursive: true });
  await rename(from, to);
}

/**
 * Removes the directories of `paths` that are empty, walking up towards the instances dir
 * (never removing it); directories that are gone or still hold something are left alone.
 */
export async function removeEmptyDirs(instancesDir: string, paths: readonly string[]) {
  const root = resolve(instancesDir);
  const dirs = new Set<string>();
  for (const path of paths) {
    for (let dir = dirname(resolve(path)); isInside(root, dir); dir = dirname(dir)) dirs.add(dir);
  }
  const deepestFirst = [...dirs].sort((a, b) => b.split(sep).length - a.split(sep).length);
  for (const dir of deepestFirst) {
    await rmdir(dir).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'ENOENT' && error.code !== 'ENOTEMPTY') throw error;
    });
  }
}
