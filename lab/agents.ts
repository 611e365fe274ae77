/** ferry's host agents for the lab: one per host, inside that host's namespaces, like on a real fleet. */
import { join } from 'node:path';
import { DATABASE_VARIABLES, type FerryConfig } from '../config';
import { projectRoot } from '../config/project-root';
import { hostCommand } from './command';
import { hostLogFile } from './host-shell';
import { RELAYED_SERVICES } from './layout';
import { spawnDetached } from './processes';
import type { RelayTargets } from './relays';
import type { LabHost } from './state';

const inHostPort = (name: 'temporal') =>
  RELAYED_SERVICES.find((service) => service.name === name)?.port as number;

/** The root-namespace addresses the lab's relays must reach: Temporal only (agents use no database). */
export function relayTargetsFor(config: Pick<FerryConfig, 'temporalAddress'>): RelayTargets {
  return { temporal: config.temporalAddress };
}

/** Agent log of a lab host, in the root namespace. */
export function agentLogFile(host: Pick<LabHost, 'rootPath'>): string {
  return hostLogFile(host.rootPath, 'ferry-agent');
}

/**
 * Starts `ferry agent --host NAME` inside each host's namespaces, detached (labDown stops every
 * process in the lab's namespaces), with `agentEnv` added to the environment it inherits (agent
 * settings such as FERRY_LIVE_MIGRATION_BANDWIDTH) and every database variable removed: an agent
 * gets its host's libvirt URI and instances dir, never a database. Returns the pids by host name.
 */
export function startLabAgents(
  hosts: LabHost[],
  config: Pick<FerryConfig, 'temporalNamespace'>,
  agentEnv: Record<string, string> = {},
): Record<string, number> {
  const cli = join(projectRoot(), 'dist', 'cli', 'main.js');
  return Object.fromEntries(
    hosts.map((host) => [
      host.name,
      spawnDetached(
        hostCommand(host, [
          'env',
          ...DATABASE_VARIABLES.map((name) => `--unset=${name}`),
          `FERRY_TEMPORAL_ADDRESS=127.0.0.1:${inHostPort('temporal')}`,
          `FERRY_TEMPORAL_NAMESPACE=${config.temporalNamespace}`,
          `FERRY_LIBVIRT_URI=${host.libvirtUriInLab}`,
          `FERRY_INSTANCES_DIR=${host.instancesDir}`,
          'FERRY_LOG_FORMAT=json',
          ...Object.entries(agentEnv).map(([name, value]) => `${name}=${value}`),
          process.execPath,
          cli,
          'agent',
          '--host',
          host.name,
        ]),
        agentLogFile(host),
      ),
    ]),
  );
}
