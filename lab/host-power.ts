/**
 * A lab host that dies and comes back (docs/lab.md, "A host that dies"): every process in its
 * namespaces killed at once, as a power cut would, then its daemons started again, as a reboot
 * would. The host shell (whose namespaces are the host) and the relay (which stands for the
 * network) stay: they are the machine and its cable, not processes the machine runs.
 */
import { hostCommand, run } from './command';
import { sshdConfigFile } from './host-config';
import { hostLogFile } from './host-shell';
import { libvirtUri } from './host';
import { isAlive, spawnDetached, waitFor } from './processes';
import { requireState, writeState, type LabHost } from './state';

function labHost(hosts: LabHost[], name: string): LabHost {
  const host = hosts.find((h) => h.name === name);
  if (!host)
    throw new Error(`lab: no host ${name} (hosts: ${hosts.map((h) => h.name).join(', ')})`);
  return host;
}

/** SIGKILL of every process in the host's network namespace but its shell and relay. */
export async function killHost(stateDir: string, name: string): Promise<number[]> {
  const host = labHost((await requireState(stateDir)).hosts, name);
  const inHost = (await run('ip', ['netns', 'pids', host.netns]))
    .split('\n')
    .map(Number)
    .filter((pid) => pid > 0 && pid !== host.pids.shell && pid !== host.pids.relay);
  for (const pid of inHost) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone already
    }
  }
  await waitFor(
    `${name}'s processes to die`,
    () => (inHost.some(isAlive) ? undefined : true),
    10_000,
  );
  return inHost;
}

/**
 * Starts the host's libvirtd and sshd again in its namespaces (each one only if it is not
 * running), records their pids, and resolves once libvirtd answers.
 */
export async function restartHostDaemons(stateDir: string, name: string): Promise<LabHost> {
  const state = await requireState(stateDir);
  const host = labHost(state.hosts, name);
  const log = hostLogFile(host.rootPath, 'host-shell');
  if (!isAlive(host.pids.libvirtd)) {
    host.pids.libvirtd = spawnDetached(
      hostCommand(host, [
        '/usr/sbin/libvirtd',
        '--listen',
        '-f',
        `${host.rootPath}/etc/libvirt/libvirtd.conf`,
      ]),
      log,
    );
  }
  if (!isAlive(host.pids.sshd)) {
    host.pids.sshd = spawnDetached(
      hostCommand(host, [
        '/usr/sbin/sshd',
        '-D',
        '-f',
        sshdConfigFile(host.rootPath),
        '-E',
        hostLogFile(host.rootPath, 'sshd'),
      ]),
      log,
    );
  }
  await writeState(state);
  await waitFor(
    `${name} libvirtd`,
    () =>
      run('virsh', ['-c', libvirtUri(host.rootPath), 'version'], { timeoutMs: 10_000 }).then(
        () => true,
        () => undefined,
      ),
    60_000,
  );
  return host;
}
