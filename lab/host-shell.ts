/**
 * The host shell: one long-lived bash per lab host, started in the host's network namespace under
 * `unshare --uts --mount --propagation private`. It names the host, bind-mounts the host's private
 * dirs and files over the system ones, starts libvirtd and sshd, and waits. Everything later run
 * "on the host" enters the shell's namespaces with nsenter, so it sees the same mounts. Once its
 * daemons have gone (a host killed, docs/lab.md) it sleeps on as the same process, so the host's
 * namespaces stay for its daemons to be started in again.
 */
import { readFile } from 'node:fs/promises';
import { sshdConfigFile } from './host-config';
import { HOST_PRIVATE_DIRS, HOST_PRIVATE_FILES, rootNamespacePath } from './layout';
import { isAlive, spawnDetached, waitFor } from './processes';

const SCRIPT = `set -eu
root=$1 name=$2 sshd_config=$3 sshd_log=$4
shift 4
hostname "$name"
for path in "$@"; do mount --bind "$root$path" "$path"; done
/usr/sbin/libvirtd --listen -f "$root/etc/libvirt/libvirtd.conf" &
echo $! > /run/ferry-libvirtd.pid
/usr/sbin/sshd -D -f "$sshd_config" -E "$sshd_log" &
echo $! > /run/ferry-sshd.pid
wait
exec sleep infinity
`;

export interface HostShellPids {
  shell: number;
  libvirtd: number;
  sshd: number;
}

export function hostLogFile(rootPath: string, program: string): string {
  return rootNamespacePath(rootPath, `/var/log/${program}.log`);
}

async function readPid(file: string): Promise<number | undefined> {
  const text = await readFile(file, 'utf8').catch(() => '');
  return /^\d+\n$/.test(text) ? Number(text) : undefined;
}

/** Starts the host shell; resolves once libvirtd and sshd have pids (not yet once they answer). */
export async function startHostShell(
  name: string,
  netns: string,
  rootPath: string,
): Promise<HostShellPids> {
  const argv = [
    'ip',
    'netns',
    'exec',
    netns,
    'unshare',
    '--uts',
    '--mount',
    '--propagation',
    'private',
  ];
  const shellArgs = [
    sshdConfigFile(rootPath),
    hostLogFile(rootPath, 'sshd'),
    ...HOST_PRIVATE_DIRS,
    ...HOST_PRIVATE_FILES,
  ];
  const shell = spawnDetached(
    [...argv, 'bash', '-c', SCRIPT, 'ferry-host-shell', rootPath, name, ...shellArgs],
    hostLogFile(rootPath, 'host-shell'),
  );
  const pidOf = async (file: string): Promise<number | undefined> => {
    if (!isAlive(shell)) {
      const log = await readFile(hostLogFile(rootPath, 'host-shell'), 'utf8').catch(() => '');
      throw new Error(`lab: the host shell of ${name} exited:\n${log}`);
    }
    return readPid(rootNamespacePath(rootPath, `/run/${file}`));
  };
  const [libvirtd, sshd] = await Promise.all(
    ['ferry-libvirtd.pid', 'ferry-sshd.pid'].map((file) =>
      waitFor(`${name} ${file}`, () => pidOf(file), 10_000),
    ),
  );
  return { shell, libvirtd, sshd };
}
