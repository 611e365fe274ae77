/** Whether this host and a peer see the same instances directory (e.g. one NFS export). */
import { randomUUID } from 'node:crypto';
import { rm, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import type { Client } from 'ssh2';
import { confineInstancePath } from '../../virt/instance-paths';
import { exec, RemoteCommandError } from './ssh';

/**
 * Creates a uniquely named file in the local `instancesDir` and asks the peer whether that path
 * exists there. Run it from either host, towards the other.
 */
export async function detectSharedStorage(peer: Client, instancesDir: string): Promise<boolean> {
  const probe = confineInstancePath(
    instancesDir,
    `.ferry-shared-storage-${hostname()}-${randomUUID()}`,
  );
  await writeFile(probe, `${hostname()}\n`, { flag: 'wx', mode: 0o600 });
  try {
    const argv = ['test', '-e', probe];
    const result = await exec(peer, argv, { timeoutMs: 30_000 });
    if (result.code === 0) return true;
    if (result.code === 1) return false;
    throw new RemoteCommandError(argv, result);
  } finally {
    await rm(probe, { force: true });
  }
}
