/**
 * Taking the lab down: every process in the lab's namespaces (daemons, guests, relays, agents)
 * and every recorded lab pid is stopped, the namespaces deleted (the bridge's once no host is
 * left), and what the lab wrote to the state dir removed (the cache stays). Works from the state
 * file, or without it from the lab's namespaces and the relays' command lines.
 */
import { existsSync } from 'node:fs';
import { rm, rmdir } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import {
  BRIDGE_NETNS,
  defaultStateDir,
  hostsDir,
  relayDir,
  sharedInstancesDir,
  stateFile,
} from './layout';
import { findRelayPids, isLabProcess } from './liveness';
import { likelyCreatedMountPoints, removeMountPoints } from './mount-points';
import { deleteNamespace, listLabNamespaces, namespacePids } from './network';
import { stopProcesses } from './processes';
import { readState, type LabState } from './state';

export interface LabDownOptions {
  stateDir?: string;
}

async function readableState(stateDir: string): Promise<LabState | undefined> {
  return readState(stateDir).catch(() => undefined);
}

async function labPids(
  stateDir: string,
  state: LabState | undefined,
  namespaces: string[],
): Promise<number[]> {
  const recorded = [
    ...(state ? [state.relayPid] : []),
    ...(state?.hosts ?? []).flatMap((host) => Object.values(host.pids)),
  ].filter((pid) => isLabProcess(pid, stateDir));
  const inNamespaces = (await Promise.all(namespaces.map(namespacePids))).flat();
  const pids = new Set([...recorded, ...inNamespaces, ...(await findRelayPids(stateDir))]);
  pids.delete(process.pid);
  return [...pids];
}

/** Removes what the lab wrote to the state dir (never anything else), then the dir if empty. */
async function removeStateDir(stateDir: string): Promise<void> {
  const written = [
    stateFile(stateDir),
    `${stateFile(stateDir)}.tmp`,
    hostsDir(stateDir),
    relayDir(stateDir),
    dirname(sharedInstancesDir(stateDir)),
  ];
  for (const path of written) await rm(path, { recursive: true, force: true });
  await rmdir(stateDir).catch(() => undefined);
}

/**
 * Host namespaces of this lab: those whose processes name this state dir, and dead ones (no
 * process at all), which no lab can use. Another state dir's running lab is left alone.
 */
async function ownHostNamespaces(stateDir: string): Promise<string[]> {
  const hostNamespaces = (await listLabNamespaces()).filter((netns) => netns !== BRIDGE_NETNS);
  const owned = await Promise.all(
    hostNamespaces.map(async (netns) => {
      const pids = await namespacePids(netns);
      return pids.length === 0 || pids.some((pid) => isLabProcess(pid, stateDir));
    }),
  );
  return hostNamespaces.filter((_, i) => owned[i]);
}

/** Takes down the lab of `stateDir`; doing so again, or after a crash, is harmless. */
export async function labDown(options: LabDownOptions = {}): Promise<void> {
  const stateDir = resolve(options.stateDir ?? defaultStateDir());
  const state = await readableState(stateDir);
  const namespaces = await ownHostNamespaces(stateDir);
  const unrecordedLab = !state && (namespaces.length > 0 || existsSync(hostsDir(stateDir)));
  await stopProcesses(await labPids(stateDir, state, namespaces));
  for (const netns of namespaces) await deleteNamespace(netns);
  const othersLeft = (await listLabNamespaces()).some((netns) => netns !== BRIDGE_NETNS);
  if (!othersLeft) await deleteNamespace(BRIDGE_NETNS);
  await removeStateDir(stateDir);
  const mountPoints = unrecordedLab ? likelyCreatedMountPoints() : [];
  await removeMountPoints(state?.createdMountPoints ?? mountPoints);
}
