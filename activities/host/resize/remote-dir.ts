/**
 * Creates a directory inside a peer's instances dir over SFTP, one level at a time, refusing any
 * existing level that is not a plain directory (a symlink could lead out of the instances dir).
 */
import { join, relative, resolve, sep } from 'node:path';
import type { Stats } from 'ssh2';
import { InstancePathError, confineInstancePath } from '../../../virt/instance-paths';
import { SftpError, openSftp, withSsh, type SftpSession, type SshTarget } from '../ssh';

const SSH_FX_NO_SUCH_FILE = 2;

async function lstatOrNull(sftp: SftpSession, path: string): Promise<Stats | null> {
  try {
    return await sftp.call<Stats>('lstat', path, (cb) => sftp.sftp.lstat(path, cb));
  } catch (error) {
    if (error instanceof SftpError && error.status === SSH_FX_NO_SUCH_FILE) return null;
    throw error;
  }
}

export async function makeRemoteDir(
  target: SshTarget,
  instancesDir: string,
  dir: string,
): Promise<void> {
  const root = resolve(instancesDir);
  const levels = relative(root, confineInstancePath(instancesDir, dir)).split(sep);
  await withSsh(target, async (conn) => {
    const sftp = await openSftp(conn);
    let path = root;
    for (const level of levels) {
      path = join(path, level);
      const existing = await lstatOrNull(sftp, path);
      if (existing !== null && !existing.isDirectory()) {
        throw new InstancePathError(path, instancesDir, `not a directory on ${target.host}`);
      }
      if (existing === null) {
        const created = path;
        await sftp
          .call<void>('mkdir', created, (cb) => sftp.sftp.mkdir(created, { mode: 0o755 }, cb))
          .catch(async (error: unknown) => {
            // Another copy may have created it meanwhile; anything else fails the copy.
            if (!(await lstatOrNull(sftp, created))?.isDirectory()) throw error;
          });
      }
    }
  });
}
