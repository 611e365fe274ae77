/**
 * The lab's relays (lab/relay.ts) across namespaces, which share no network but do share the
 * filesystem, so unix sockets cross. In the root namespace: `<stateDir>/relay/<service>.sock` to
 * 127.0.0.1:<port>. In each host: 127.0.0.1:<port> to that socket, so Temporal and PostgreSQL look
 * local; and `<rootPath>/run/sshd.sock` to the host's sshd, so the root namespace can reach it.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { hostCommand, type ShellOwner } from './command';
import { exists } from './exists';
import { hostLogFile } from './host-shell';
import {
  RELAYED_SERVICES,
  SSH_PORT,
  assertSocketPathFits,
  relayDir,
  relayProgram,
  relaySocket,
  sshdSocket,
} from './layout';
import { spawnDetached, waitFor } from './processes';

async function socketsListening(paths: string[]): Promise<void> {
  const allThere = async (): Promise<true | undefined> =>
    (await Promise.all(paths.map(exists))).every(Boolean) || undefined;
  await waitFor(`relay sockets ${paths.join(', ')}`, allThere, 10_000);
}

export async function assertRelayBuilt(): Promise<void> {
  if (!(await exists(relayProgram()))) {
    throw new Error(`lab: ${relayProgram()} is missing; build first (npm run build)`);
  }
}

export function rootRelaySockets(stateDir: string): Record<string, string> {
  return Object.fromEntries(
    RELAYED_SERVICES.map(({ name }) => [name, relaySocket(stateDir, name)]),
  );
}

/** Where the root-namespace relay sends each service; by default the same port on 127.0.0.1. */
export type RelayTargets = Partial<Record<(typeof RELAYED_SERVICES)[number]['name'], string>>;

export async function startRootRelay(
  stateDir: string,
  targets: RelayTargets = {},
): Promise<number> {
  await mkdir(relayDir(stateDir), { recursive: true });
  const routes = RELAYED_SERVICES.flatMap(({ name, port }) => {
    assertSocketPathFits(relaySocket(stateDir, name));
    return [`unix:${relaySocket(stateDir, name)}`, `tcp:${targets[name] ?? `127.0.0.1:${port}`}`];
  });
  const pid = spawnDetached(
    [process.execPath, relayProgram(), ...routes],
    join(relayDir(stateDir), 'relay.log'),
  );
  await socketsListening(RELAYED_SERVICES.map(({ name }) => relaySocket(stateDir, name)));
  return pid;
}

export interface RelayedHost extends ShellOwner {
  address: string;
  rootPath: string;
}

export async function startHostRelay(stateDir: string, host: RelayedHost): Promise<number> {
  const routes = [
    ...RELAYED_SERVICES.flatMap(({ name, port }) => [
      `tcp:127.0.0.1:${port}`,
      `unix:${relaySocket(stateDir, name)}`,
    ]),
    `unix:${sshdSocket(host.rootPath)}`,
    `tcp:${host.address}:${SSH_PORT}`,
  ];
  const pid = spawnDetached(
    hostCommand(host, [process.execPath, relayProgram(), ...routes]),
    hostLogFile(host.rootPath, 'relay'),
  );
  await socketsListening([sshdSocket(host.rootPath)]);
  return pid;
}
