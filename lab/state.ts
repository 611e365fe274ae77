/** The lab's record of what it made, in `<stateDir>/state.json`, so any process can find it. */
import { readFile, rename, writeFile } from 'node:fs/promises';
import { stateFile } from './layout';

export interface LabHostPids {
  /** The host shell: the process whose namespaces are the host's (`nsenter -t`). */
  shell: number;
  libvirtd: number;
  sshd: number;
  /** The relay inside the host (Temporal, PostgreSQL, and the sshd unix socket). */
  relay: number;
}

export interface LabHost {
  /** Also the host's hostname (its own UTS namespace) and its name in every host's /etc/hosts. */
  name: string;
  /** The host's address on the lab network, reachable only from inside the lab's namespaces. */
  address: string;
  netns: string;
  /** The root-namespace directory holding the host's private dirs at their in-host paths. */
  rootPath: string;
  /** libvirtd's unix socket, usable from the root namespace. */
  libvirtUri: string;
  /** libvirtd over TCP, usable from inside any lab host (migration peer URI). */
  libvirtUriInLab: string;
  hostUuid: string;
  /** The instances directory as the host sees it. */
  instancesDir: string;
  sshPort: number;
  /** The host's sshd key, as a known_hosts key ("ssh-ed25519 AAAA..."). */
  sshHostPublicKey: string;
  /** Root-namespace path of the host's root private key, authorized on every lab host. */
  sshClientKeyPath: string;
  /** Root-namespace known_hosts naming every lab host by address. */
  sshKnownHostsPath: string;
  /** Root-namespace unix socket connected to this host's sshd (for ssh2's `sock`). */
  sshSocket: string;
  pids: LabHostPids;
}

export interface LabGuestRecord {
  name: string;
  uuid: string;
  /** The host the guest was booted on; `labStatus` asks the daemons where it is now. */
  host: string;
}

export interface LabState {
  stateDir: string;
  cacheDir: string;
  subnet: string;
  bridgeNetns: string;
  hosts: LabHost[];
  /**
   * Every host's instances dir is the one directory `sharedInstancesDir(stateDir)`, as with an NFS
   * export (docs/lab.md, Shared storage); false (or absent, in older state files): each its own.
   */
  sharedStorage?: boolean;
  /** The root-namespace relay to Temporal and PostgreSQL. */
  relayPid: number;
  /** Unix sockets in the root namespace that reach 127.0.0.1 services, by service name. */
  relaySockets: Record<string, string>;
  /** Mount points the lab had to create in the root filesystem; removed again if left empty. */
  createdMountPoints: string[];
  guests: LabGuestRecord[];
  startedAt: string;
}

export async function readState(stateDir: string): Promise<LabState | undefined> {
  try {
    return JSON.parse(await readFile(stateFile(stateDir), 'utf8')) as LabState;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

export async function writeState(state: LabState): Promise<void> {
  const file = stateFile(state.stateDir);
  await writeFile(`${file}.tmp`, `${JSON.stringify(state, null, 2)}\n`);
  await rename(`${file}.tmp`, file);
}

export async function requireState(stateDir: string): Promise<LabState> {
  const state = await readState(stateDir);
  if (!state)
    throw new Error(`lab: no lab is up at ${stateDir} (no state.json); bring one up first`);
  return state;
}
