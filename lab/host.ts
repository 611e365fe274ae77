/** One lab host: its private dirs and configuration, then its daemons, up and answering. */
import { randomUUID } from 'node:crypto';
import { cp, mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { childElement, parseXml, textOf } from '../virt/libvirt/domain-xml';
import { run } from './command';
import { exists } from './exists';
import {
  libvirtdConf,
  qemuConf,
  sshdConfig,
  sshdConfigFile,
  sshdDir,
  type HostIdentity,
} from './host-config';
import { startHostShell, type HostShellPids } from './host-shell';
import {
  HOST_PRIVATE_DIRS,
  INSTANCES_DIR,
  SSH_PORT,
  assertSocketPathFits,
  hostAddress,
  hostName,
  hostNetns,
  hostRootPath,
  libvirtSocket,
  rootNamespacePath,
  sharedInstancesDir,
  sshdSocket,
} from './layout';
import { waitFor } from './processes';
import { clientKeyPath, createHostKeys, knownHostsPath, type HostKeys } from './ssh-keys';
import type { LabHost } from './state';

export interface PreparedHost extends HostIdentity {
  netns: string;
  keys: HostKeys;
}

export function libvirtUri(rootPath: string): string {
  return `qemu+unix:///system?socket=${libvirtSocket(rootPath)}`;
}

/** The host's instances dir: a directory of its own, or a symlink to the lab's shared one. */
async function createInstancesDir(stateDir: string, rootPath: string, shared: boolean) {
  const path = rootNamespacePath(rootPath, INSTANCES_DIR);
  if (!shared) {
    await mkdir(path, { recursive: true, mode: 0o755 });
    return;
  }
  await mkdir(dirname(path), { recursive: true, mode: 0o755 });
  await symlink(sharedInstancesDir(stateDir), path);
}

/**
 * Lays out a fresh host directory: private dirs, a copy of /etc/libvirt, configs and keys. With
 * `sharedStorage` its instances dir is the lab's shared one (which labUp creates).
 */
export async function prepareHost(
  stateDir: string,
  index: number,
  sharedStorage: boolean,
): Promise<PreparedHost> {
  const name = hostName(index);
  const address = hostAddress(index);
  const rootPath = hostRootPath(stateDir, name);
  [libvirtSocket(rootPath), sshdSocket(rootPath)].forEach(assertSocketPathFits);
  await rm(rootPath, { recursive: true, force: true });
  const ownDirs = HOST_PRIVATE_DIRS.filter(
    (path) => path !== '/etc/libvirt' && path !== INSTANCES_DIR,
  );
  for (const dir of ownDirs) {
    const mode = dir === '/root/.ssh' ? 0o700 : 0o755;
    await mkdir(rootNamespacePath(rootPath, dir), { recursive: true, mode });
  }
  await createInstancesDir(stateDir, rootPath, sharedStorage);
  await cp('/etc/libvirt', rootNamespacePath(rootPath, '/etc/libvirt'), { recursive: true });
  await mkdir(rootNamespacePath(rootPath, '/run/sshd'));
  await mkdir(sshdDir(rootPath), { recursive: true });
  const host: HostIdentity = { name, address, rootPath, hostUuid: randomUUID() };
  const etcLibvirt = rootNamespacePath(rootPath, '/etc/libvirt');
  await writeFile(join(etcLibvirt, 'libvirtd.conf'), libvirtdConf(host));
  await writeFile(join(etcLibvirt, 'qemu.conf'), qemuConf(host), { mode: 0o600 });
  await writeFile(sshdConfigFile(rootPath), sshdConfig(host));
  const keys = await createHostKeys(name, address, rootPath);
  return { ...host, netns: hostNetns(name), keys };
}

async function libvirtHostUuid(uri: string): Promise<string | undefined> {
  const capabilities = await run('virsh', ['-c', uri, 'capabilities'], { timeoutMs: 60_000 }).catch(
    () => undefined,
  );
  if (!capabilities) return undefined;
  const host = childElement(parseXml(capabilities).documentElement, 'host');
  return textOf(childElement(host, 'uuid')) ?? undefined;
}

/** Starts the host's daemons; resolves once libvirtd answers for capabilities and sshd listens. */
export async function startHost(host: PreparedHost): Promise<HostShellPids> {
  const pids = await startHostShell(host.name, host.netns, host.rootPath);
  const uuid = await waitFor(
    `${host.name} libvirtd`,
    () => libvirtHostUuid(libvirtUri(host.rootPath)),
    60_000,
  );
  if (uuid !== host.hostUuid) {
    throw new Error(`lab: ${host.name} libvirtd reports host uuid ${uuid}`);
  }
  const sshdPidFile = rootNamespacePath(host.rootPath, '/run/sshd.pid');
  const listening = async (): Promise<true | undefined> => (await exists(sshdPidFile)) || undefined;
  await waitFor(`${host.name} sshd`, listening, 10_000);
  return pids;
}

/** Writes every host's /etc/hosts, naming all lab hosts by their addresses. */
export async function writeHostsFiles(hosts: PreparedHost[]): Promise<void> {
  const names = hosts.map((host) => `${host.address} ${host.name}\n`).join('');
  const content = `127.0.0.1 localhost\n${names}`;
  await Promise.all(
    hosts.map((host) => writeFile(rootNamespacePath(host.rootPath, '/etc/hosts'), content)),
  );
}

export function describeHost(host: PreparedHost, pids: LabHost['pids']): LabHost {
  return {
    name: host.name,
    address: host.address,
    netns: host.netns,
    rootPath: host.rootPath,
    libvirtUri: libvirtUri(host.rootPath),
    libvirtUriInLab: `qemu+tcp://${host.address}/system`,
    hostUuid: host.hostUuid,
    instancesDir: INSTANCES_DIR,
    sshPort: SSH_PORT,
    sshHostPublicKey: host.keys.hostPublicKey,
    sshClientKeyPath: clientKeyPath(host.rootPath),
    sshKnownHostsPath: knownHostsPath(host.rootPath),
    sshSocket: sshdSocket(host.rootPath),
    pids,
  };
}
