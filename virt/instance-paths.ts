/** Confines disk paths to a host's instances directory. */
import { lstat, realpath } from 'node:fs/promises';
import { dirname, isAbsolute, relative, resolve, sep } from 'node:path';

export class InstancePathError extends Error {
  override readonly name = 'InstancePathError';

  constructor(
    readonly path: string,
    readonly instancesDir: string,
    readonly reason: string,
  ) {
    super(`refusing path ${JSON.stringify(path)} (instances dir ${instancesDir}): ${reason}`);
  }
}

/** Whether `candidate` lies strictly below `dir` (both absolute and normalized). */
export function isInside(dir: string, candidate: string): boolean {
  const rel = relative(dir, candidate);
  return rel !== '' && rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel);
}

/**
 * Lexical confinement, without touching the filesystem: the normalized path must lie strictly
 * inside `instancesDir`. Usable for paths on another host.
 */
export function confineInstancePath(instancesDir: string, relativeOrAbsolute: string): string {
  const refuse = (reason: string) =>
    new InstancePathError(relativeOrAbsolute, instancesDir, reason);
  if (!isAbsolute(instancesDir) || instancesDir.includes('\0')) {
    throw refuse('instances dir must be an absolute path');
  }
  if (relativeOrAbsolute === '') throw refuse('empty path');
  if (relativeOrAbsolute.includes('\0')) throw refuse('NUL byte in path');
  const resolved = resolve(instancesDir, relativeOrAbsolute);
  if (!isInside(resolve(instancesDir), resolved)) throw refuse('outside the instances dir');
  return resolved;
}

async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
}

/**
 * Confines a local path: the lexical check, then the same check on the real path of the file
 * (or of its deepest existing ancestor when it does not exist yet), so symlinks cannot escape.
 */
export async function resolveInstancePath(
  instancesDir: string,
  relativeOrAbsolute: string,
): Promise<string> {
  const resolved = confineInstancePath(instancesDir, relativeOrAbsolute);
  const realDir = await realpath(instancesDir);
  let existing = resolved;
  while (!(await exists(existing))) existing = dirname(existing);
  const real = await realpath(existing).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') {
      throw new InstancePathError(relativeOrAbsolute, instancesDir, 'dangling symlink');
    }
    throw error;
  });
  const confined =
    existing === resolved ? isInside(realDir, real) : real === realDir || isInside(realDir, real);
  if (!confined) {
    throw new InstancePathError(relativeOrAbsolute, instancesDir, `resolves to ${real}, outside`);
  }
  return resolved;
}
