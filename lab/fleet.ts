/**
 * The lab as ferry's embedded default fleet: bring it up with its hosts registered and an agent on
 * each, boot guests as instances, and take it all down again, database included.
 */
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { openDatabase } from '../db/database';
import { migrateDatabase } from '../db/migrate';
import type { FerryConfig } from '../config';
import { relayTargetsFor, startLabAgents } from './agents';
import { labDown } from './down';
import { killHost, restartHostDaemons } from './host-power';
import { bootGuest, type BootGuestOptions, type LabGuest } from './guest';
import { LAB_ADDRESS_PREFIX } from './layout';
import { commandLine } from './processes';
import { readState, requireState, type LabState } from './state';
import { run } from './command';
import { forgetLabHosts, registerLabGuest, registerLabHosts } from './register';
import { labUp, type LabUpOptions } from './up';

type FleetConfig = Pick<
  FerryConfig,
  'dataDir' | 'databaseUrl' | 'temporalAddress' | 'temporalNamespace'
>;

export function labStateDir(config: Pick<FerryConfig, 'dataDir'>): string {
  return resolve(config.dataDir, 'lab');
}

const agentsFile = (stateDir: string) => join(stateDir, 'agents.json');

async function runningAgents(stateDir: string): Promise<Record<string, number>> {
  const recorded: Record<string, number> = JSON.parse(
    await readFile(agentsFile(stateDir), 'utf8').catch(() => '{}'),
  );
  return Object.fromEntries(
    Object.entries(recorded).filter(([host, pid]) =>
      commandLine(pid)?.includes(`agent --host ${host}`),
    ),
  );
}

/**
 * Brings up (or finds) a lab of `hosts` hosts, registers them, and starts the agent of every host
 * that has none running. `sharedStorage`: every host's instances dir is one shared directory.
 */
export async function bringUpLab(
  config: FleetConfig,
  hosts: number,
  agentEnv: Record<string, string> = {},
  options: Pick<LabUpOptions, 'sharedStorage'> = {},
): Promise<LabState> {
  const stateDir = labStateDir(config);
  await migrateDatabase(config.databaseUrl);
  const state = await labUp({
    hosts,
    stateDir,
    relayTargets: relayTargetsFor(config),
    sharedStorage: options.sharedStorage,
  });
  const db = await openDatabase(config.databaseUrl);
  try {
    await registerLabHosts(db, state.hosts);
  } finally {
    await db.$disconnect();
  }
  const running = await runningAgents(stateDir);
  const started = startLabAgents(
    state.hosts.filter((host) => running[host.name] === undefined),
    config,
    agentEnv,
  );
  await writeFile(agentsFile(stateDir), JSON.stringify({ ...running, ...started }));
  return state;
}

/** Boots a lab guest and registers it as an ACTIVE instance on its host. */
export async function bootLabInstance(
  config: FleetConfig,
  options: Omit<BootGuestOptions, 'stateDir'>,
): Promise<LabGuest> {
  const stateDir = labStateDir(config);
  const guest = await bootGuest({ ...options, stateDir });
  const host = (await requireState(stateDir)).hosts.find((h) => h.name === guest.host);
  const definition = await run('virsh', [
    '-c',
    host?.libvirtUri ?? '',
    'dumpxml',
    '--inactive',
    guest.name,
  ]);
  const db = await openDatabase(config.databaseUrl);
  try {
    await registerLabGuest(db, guest, definition);
  } finally {
    await db.$disconnect();
  }
  return guest;
}

/**
 * Takes the lab down (guests, agents, daemons, namespaces) and removes its hosts, and everything
 * recorded about their instances, from the database. Works after a crash: without a state file
 * the lab's hosts are the registered hosts on the lab subnet.
 */
export async function takeDownLab(config: FleetConfig): Promise<string[]> {
  const stateDir = labStateDir(config);
  const state = await readState(stateDir);
  await labDown({ stateDir });
  await rm(agentsFile(stateDir), { force: true });
  await migrateDatabase(config.databaseUrl);
  const db = await openDatabase(config.databaseUrl);
  try {
    const names =
      state?.hosts.map((host) => host.name) ??
      (await db.host.findMany({ where: { sshAddress: { startsWith: LAB_ADDRESS_PREFIX } } })).map(
        (host) => host.name,
      );
    await forgetLabHosts(db, names);
    return names;
  } finally {
    await db.$disconnect();
  }
}

/** Every process of the lab host `name` killed at once, its agent among them (a power cut). */
export async function killLabHost(config: FleetConfig, name: string): Promise<number[]> {
  return killHost(labStateDir(config), name);
}

/**
 * The lab host `name` back after killLabHost: its libvirtd and sshd started again, and its agent
 * if it has none running.
 */
export async function restartLabHost(
  config: FleetConfig,
  name: string,
  agentEnv: Record<string, string> = {},
): Promise<void> {
  const stateDir = labStateDir(config);
  const host = await restartHostDaemons(stateDir, name);
  const running = await runningAgents(stateDir);
  if (running[name] !== undefined) return;
  const started = startLabAgents([host], config, agentEnv);
  await writeFile(agentsFile(stateDir), JSON.stringify({ ...running, ...started }));
}
