/** Names, addresses and paths of the lab: one place that decides where everything lives. */
import { join } from 'node:path';
import { projectRoot } from '../config/project-root';

/** The lab's private network; its addresses exist only inside the lab's namespaces. */
export const LAB_SUBNET = '10.77.0.0/24';
export const LAB_PREFIX_LENGTH = 24;
/** What every lab address starts with. */
export const LAB_ADDRESS_PREFIX = '10.77.0.';
export const BRIDGE_NETNS = 'ferry-lab-br';
export const BRIDGE = 'br0';
export const HOST_NETNS_PATTERN = /^ferry-host\d+$/;
export const SSH_PORT = 22;

/** Where ferry keeps instance files on a host, as the host sees it. */
export const INSTANCES_DIR = '/var/lib/ferry/instances';

/** Directories each host gets its own copy of, bind-mounted at the same path inside the host. */
export const HOST_PRIVATE_DIRS = [
  '/etc/libvirt',
  '/var/lib/libvirt',
  '/var/log/libvirt',
  '/var/cache/libvirt',
  INSTANCES_DIR,
  '/root/.ssh',
  '/run',
] as const;

/** Files each host gets its own copy of: /etc/hosts names every lab host, so no DNS is asked. */
export const HOST_PRIVATE_FILES = ['/etc/hosts'] as const;

/** Relayed from each host's 127.0.0.1 to the same port of the root namespace's 127.0.0.1. */
export const RELAYED_SERVICES = [{ name: 'temporal', port: 7233 }] as const;

/** The longest path a unix socket address holds (sun_path, less its terminating NUL). */
const UNIX_SOCKET_PATH_MAX = 107;

export function defaultStateDir(): string {
  return join(projectRoot(), 'data', 'lab');
}

export function defaultCacheDir(stateDir: string): string {
  return join(stateDir, 'cache');
}

export function stateFile(stateDir: string): string {
  return join(stateDir, 'state.json');
}

export function relayDir(stateDir: string): string {
  return join(stateDir, 'relay');
}

export function relaySocket(stateDir: string, service: string): string {
  return join(relayDir(stateDir), `${service}.sock`);
}

/**
 * The QEMU lab guests run on: bookworm-backports' build, unpacked by scripts/bootstrap behind a
 * wrapper, because Debian 12's QEMU 7.2 loses guest writes in a TCG live migration (docs/lab.md).
 */
export function labEmulator(): string {
  return join(projectRoot(), '.tools', 'qemu', 'qemu-system-x86_64');
}

/** The relay program, compiled by `tsc` from lab/relay.ts. */
export function relayProgram(): string {
  return join(projectRoot(), 'dist', 'lab', 'relay.js');
}

export function hostName(index: number): string {
  return `host${index}`;
}

export function hostAddress(index: number): string {
  return `${LAB_ADDRESS_PREFIX}${10 + index}`;
}

export function hostNetns(name: string): string {
  return `ferry-${name}`;
}

/**
 * With shared storage, the one directory every host's instances dir is (docs/lab.md, Shared
 * storage): each host's private instances dir is a symlink to it, which `mount --bind` follows.
 */
export function sharedInstancesDir(stateDir: string): string {
  return join(stateDir, 'shared', 'instances');
}

export function hostsDir(stateDir: string): string {
  return join(stateDir, 'hosts');
}

/** The root-namespace directory that stands for `/` of a host's private directories. */
export function hostRootPath(stateDir: string, name: string): string {
  return join(hostsDir(stateDir), name);
}

/** The root-namespace path of a file a host sees at `inHostPath` (inside its private dirs). */
export function rootNamespacePath(rootPath: string, inHostPath: string): string {
  return join(rootPath, inHostPath);
}

export function libvirtSocket(rootPath: string): string {
  return rootNamespacePath(rootPath, '/run/libvirt/libvirt-sock');
}

export function sshdSocket(rootPath: string): string {
  return rootNamespacePath(rootPath, '/run/sshd.sock');
}

export function guestDirInHost(name: string): string {
  return join(INSTANCES_DIR, name);
}

export function assertSocketPathFits(path: string): void {
  if (Buffer.byteLength(path) > UNIX_SOCKET_PATH_MAX) {
    throw new Error(
      `lab: unix socket path ${path} exceeds ${UNIX_SOCKET_PATH_MAX} bytes; use a shorter stateDir`,
    );
  }
}
