/** Bringing the lab up: network, hosts and their daemons, relays, guest image; then the record. */
import { mkdir } from 'node:fs/promises';
import { resolve } from 'node:path';
import { isWarm, saveFromHost, seedHost } from './capabilities-cache';
import { labDown } from './down';
import { ensureGuestImage, type GuestImage } from './guest-image';
import { describeHost, prepareHost, startHost, writeHostsFiles, type PreparedHost } from './host';
import {
  BRIDGE_NETNS,
  LAB_SUBNET,
  defaultCacheDir,
  defaultStateDir,
  sharedInstancesDir,
} from './layout';
import { labRunning } from './liveness';
import { createMountPoints } from './mount-points';
import { createBridge, createHostNetwork, listLabNamespaces } from './network';
import {
  assertRelayBuilt,
  rootRelaySockets,
  startHostRelay,
  startRootRelay,
  type RelayTargets,
} from './relays';
import { writeTrust } from './ssh-keys';
import { readState, writeState, type LabHost, type LabState } from './state';

export interface LabUpOptions {
  /** Number of hosts, host1..hostN (default 2). */
  hosts?: number;
  /** Default `<project root>/data/lab`. */
  stateDir?: string;
  /** Warm QEMU capabilities and the guest image; default `<stateDir>/cache`, kept by labDown. */
  cacheDir?: string;
  /**
   * Root-namespace HOST:PORT of Temporal and PostgreSQL, which hosts reach at 127.0.0.1:7233 and
   * 127.0.0.1:5432; default those same addresses.
   */
  relayTargets?: RelayTargets;
  /**
   * Every host's instances dir is one shared directory, as with an NFS export (docs/lab.md, Shared
   * storage); default false: each host has its own.
   */
  sharedStorage?: boolean;
}

const MAX_HOSTS = 32;

/**
 * Like Promise.all, but waits for every promise to settle before throwing the first failure, so
 * nothing is still starting processes when labUp cleans up after a failure.
 */
async function allSettled<T extends unknown[]>(promises: {
  [K in keyof T]: Promise<T[K]>;
}): Promise<T> {
  const results = await Promise.allSettled(promises);
  const failure = results.find((result) => result.status === 'rejected');
  if (failure) throw failure.reason;
  return results.map((result) => (result as PromiseFulfilledResult<unknown>).value) as T;
}

/** Starts a host's daemons, then its relay. */
async function startHostAndRelay(stateDir: string, host: PreparedHost): Promise<LabHost> {
  const pids = await startHost(host);
  const relay = await startHostRelay(stateDir, { ...host, pids });
  return describeHost(host, { ...pids, relay });
}

/** Starts every host, the first one alone when the capabilities cache is cold, to warm it. */
async function startHosts(state: LabState, prepared: PreparedHost[]): Promise<LabHost[]> {
  const startSeeded = (hosts: PreparedHost[]): Promise<LabHost[]> =>
    allSettled(
      hosts.map(async (host) => {
        await seedHost(state.cacheDir, host.rootPath);
        return startHostAndRelay(state.stateDir, host);
      }),
    );
  if (await isWarm(state.cacheDir)) return startSeeded(prepared);
  const [first, ...rest] = prepared;
  const firstHost = await startHostAndRelay(state.stateDir, first);
  await saveFromHost(state.cacheDir, first.rootPath);
  return [firstHost, ...(await startSeeded(rest))];
}

async function startLab(state: LabState, count: number, targets: RelayTargets): Promise<LabState> {
  await createBridge();
  const indexes = Array.from({ length: count }, (_, i) => i + 1);
  const prepared = await allSettled(
    indexes.map(async (index) => {
      const host = await prepareHost(state.stateDir, index, state.sharedStorage === true);
      await createHostNetwork(host.name, host.netns, host.address);
      return host;
    }),
  );
  await writeTrust(prepared.map((host) => host.keys));
  await writeHostsFiles(prepared);
  const [relayPid, hosts] = await allSettled<[number, LabHost[]]>([
    startRootRelay(state.stateDir, targets),
    startHosts(state, prepared),
  ]);
  return { ...state, hosts, relayPid };
}

/** Starts the lab while the guest image builds. */
async function build(state: LabState, count: number, targets: RelayTargets): Promise<LabState> {
  const [, lab] = await allSettled<[GuestImage, LabState]>([
    ensureGuestImage(state.cacheDir),
    startLab(state, count, targets),
  ]);
  return lab;
}

function describeStorage(shared: boolean | undefined): string {
  return shared ? 'shared storage' : 'host-local storage';
}

/**
 * Brings up a lab of `hosts` hosts. If this state dir's lab is already up with that many hosts and
 * that storage it is returned as is; otherwise labUp refuses. A crashed lab is cleaned up first.
 */
export async function labUp(options: LabUpOptions = {}): Promise<LabState> {
  const stateDir = resolve(options.stateDir ?? defaultStateDir());
  const count = options.hosts ?? 2;
  const sharedStorage = options.sharedStorage ?? false;
  if (!Number.isInteger(count) || count < 1 || count > MAX_HOSTS) {
    throw new Error(`lab: hosts must be an integer from 1 to ${MAX_HOSTS}, not ${count}`);
  }
  const existing = await readState(stateDir);
  if (existing && labRunning(existing)) {
    const sameStorage = (existing.sharedStorage ?? false) === sharedStorage;
    if (existing.hosts.length === count && sameStorage) return existing;
    throw new Error(
      `lab: a lab of ${existing.hosts.length} hosts with ${describeStorage(existing.sharedStorage)} ` +
        `is up at ${stateDir}; take it down first`,
    );
  }
  if (existing) await labDown({ stateDir });
  const leftovers = await listLabNamespaces();
  if (leftovers.length > 0) {
    throw new Error(
      `lab: namespaces ${leftovers.join(', ')} belong to another lab; take that one down first`,
    );
  }
  await assertRelayBuilt();

  await mkdir(stateDir, { recursive: true });
  if (sharedStorage) await mkdir(sharedInstancesDir(stateDir), { recursive: true, mode: 0o755 });
  const initial: LabState = {
    stateDir,
    cacheDir: resolve(options.cacheDir ?? defaultCacheDir(stateDir)),
    subnet: LAB_SUBNET,
    bridgeNetns: BRIDGE_NETNS,
    hosts: [],
    sharedStorage,
    relayPid: 0,
    relaySockets: rootRelaySockets(stateDir),
    createdMountPoints: await createMountPoints(),
    guests: [],
    startedAt: new Date().toISOString(),
  };
  await writeState(initial);
  try {
    const state = await build(initial, count, options.relayTargets ?? {});
    await writeState(state);
    return state;
  } catch (error) {
    await labDown({ stateDir });
    throw error;
  }
}
