/** The lab of a state dir as it is now: its hosts, whether they run, and where the guests are. */
import { resolve } from 'node:path';
import { listGuests, type LabGuest } from './guest';
import { defaultStateDir } from './layout';
import { hostRunning, labRunning } from './liveness';
import { readState, type LabHost } from './state';

export interface LabStatusOptions {
  stateDir?: string;
}

export interface LabHostStatus extends LabHost {
  /** Whether the host's shell, libvirtd, sshd and relay all still run. */
  running: boolean;
}

export interface LabStatus {
  stateDir: string;
  /** A state file exists and every recorded lab process runs. */
  up: boolean;
  /** Every host's instances dir is one shared directory (docs/lab.md, Shared storage). */
  sharedStorage: boolean;
  hosts: LabHostStatus[];
  guests: LabGuest[];
}

export async function labStatus(options: LabStatusOptions = {}): Promise<LabStatus> {
  const stateDir = resolve(options.stateDir ?? defaultStateDir());
  const state = await readState(stateDir);
  if (!state) return { stateDir, up: false, sharedStorage: false, hosts: [], guests: [] };
  return {
    stateDir,
    up: labRunning(state),
    sharedStorage: state.sharedStorage ?? false,
    hosts: state.hosts.map((host) => ({ ...host, running: hostRunning(host, stateDir) })),
    guests: await listGuests(state),
  };
}
