/**
 * Which recorded lab processes still run. A pid counts as the lab's only while its command line
 * names the lab's state dir (every lab daemon, shell and relay is started with such a path), so a
 * reused pid is never mistaken for, or killed as, a lab process.
 */
import { readdir } from 'node:fs/promises';
import { relayProgram } from './layout';
import { commandLine } from './processes';
import type { LabHost, LabState } from './state';

export function isLabProcess(pid: number, stateDir: string): boolean {
  return commandLine(pid)?.includes(`${stateDir}/`) ?? false;
}

export function hostRunning(host: LabHost, stateDir: string): boolean {
  return Object.values(host.pids).every((pid) => isLabProcess(pid, stateDir));
}

export function labRunning(state: LabState): boolean {
  return (
    state.hosts.length > 0 &&
    isLabProcess(state.relayPid, state.stateDir) &&
    state.hosts.every((host) => hostRunning(host, state.stateDir))
  );
}

/** Relays of this state dir, found by command line (for when state.json is gone). */
export async function findRelayPids(stateDir: string): Promise<number[]> {
  const pids = (await readdir('/proc')).filter((entry) => /^\d+$/.test(entry)).map(Number);
  return pids.filter((pid) => {
    const line = commandLine(pid);
    return line !== undefined && line.includes(relayProgram()) && line.includes(`${stateDir}/`);
  });
}
