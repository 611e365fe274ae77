/**
 * Nova's filter scheduler for one instance: every host goes through the filters, the ones that
 * pass are weighed, best first. The filters and the weigher are pure functions over HostState;
 * selectDestinations asks the database for the same choice (placement.ts), and applies them to
 * a requested host and to explain a refusal. docs/scheduler.md.
 */
import type { Database } from '../../db/database';
import {
  freeResources,
  readHostStates,
  type HostState,
  type HypervisorFacts,
  type Resources,
} from '../../db/host-state';
import { migrationFailure } from './migration-errors';
import { getMigrationToPlace } from './migration-lookup';
import { placeInstance, type HostCapacity } from './placement';
import { type ActionIds, recordActionEvents } from './instance-actions';
import type { ActionEventRecord, DestinationRequest } from '../../workflows/operation-types';

/** What is being placed and where it must not go (Nova's RequestSpec). */
export interface RequestSpec {
  instanceName: string;
  sourceHost: string;
  /** The source's hypervisor: a destination's must be compatible with it. */
  source: HypervisorFacts | undefined;
  /** Hosts already tried and refused by their pre-check (Nova's ignore_hosts, besides the source). */
  ignoreHosts: readonly string[];
  /** The source may take it too (a resize with Nova's allow_resize_to_same_host). */
  allowSameHost?: boolean;
  needs: Resources;
}

export interface HostFilter {
  name: string;
  /** Why the host cannot take the request, or null when it passes. */
  refuse(host: HostState, spec: RequestSpec): string | null;
}

/** A host a filter refused, and why. */
export interface Refusal {
  host: string;
  filter: string;
  reason: string;
}

function serviceState(host: HostState): string {
  return host.disabledReason ? `${host.state} (${host.disabledReason})` : host.state;
}

/** The host's compute service is up: not down, not disabled. */
export const ComputeFilter: HostFilter = {
  name: 'ComputeFilter',
  refuse: (host) => (host.state === 'up' ? null : `host is ${serviceState(host)}`),
};

/** Never the source (unless the request allows it), never a host already refused. */
export const IgnoreHostsFilter: HostFilter = {
  name: 'IgnoreHostsFilter',
  refuse(host, spec) {
    if (host.name === spec.sourceHost && !spec.allowSameHost) return 'it is the source host';
    if (spec.ignoreHosts.includes(host.name)) return 'already tried and refused';
    return null;
  },
};

/**
 * Same architecture and hypervisor type as the source, hypervisor version at least the source's.
 * A value either side has not reported is not compared.
 */
export const HypervisorCompatibilityFilter: HostFilter = {
  name: 'HypervisorCompatibilityFilter',
  refuse(host, { source }) {
    if (host.arch && source?.arch && host.arch !== source.arch) {
      return `arch ${host.arch}, the source's is ${source.arch}`;
    }
    if (
      host.hypervisorType &&
      source?.hypervisorType &&
      host.hypervisorType !== source.hypervisorType
    ) {
      return `hypervisor type ${host.hypervisorType}, the source's is ${source.hypervisorType}`;
    }
    if (
      host.hypervisorVersion !== null &&
      typeof source?.hypervisorVersion === 'number' &&
      host.hypervisorVersion < source.hypervisorVersion
    ) {
      return `hypervisor version ${host.hypervisorVersion} is older than the source's ${source.hypervisorVersion}`;
    }
    return null;
  },
};

const RESOURCES = [
  { filter: 'RamFilter', key: 'memoryMiB', what: 'memory', unit: ' MiB' },
  { filter: 'DiskFilter', key: 'diskGiB', what: 'disk', unit: ' GiB' },
  { filter: 'CoreFilter', key: 'vcpus', what: 'vCPUs', unit: '' },
] as const;

function shortfall(
  host: HostCapacity,
  needs: Resources,
  { key, what, unit }: (typeof RESOURCES)[number],
): string | null {
  const free = freeResources(host)[key];
  if (free === null || needs[key] <= free) return null;
  return `not enough ${what}: needs ${needs[key]}${unit}, ${free}${unit} free`;
}

/** Enough free memory, disk and vCPUs after usage and claims (a resource of unknown total passes). */
export const RESOURCE_FILTERS: readonly HostFilter[] = RESOURCES.map((resource) => ({
  name: resource.filter,
  refuse: (host, spec) => shortfall(host, spec.needs, resource),
}));

/** The first resource filter that refuses `needs` on the host, or null when it can hold them. */
export function lackingResource(host: HostCapacity, needs: Resources): Refusal | null {
  for (const resource of RESOURCES) {
    const reason = shortfall(host, needs, resource);
    if (reason !== null) return { host: host.name, filter: resource.filter, reason };
  }
  return null;
}

export const FILTERS: readonly HostFilter[] = [
  ComputeFilter,
  IgnoreHostsFilter,
  HypervisorCompatibilityFilter,
  ...RESOURCE_FILTERS,
];

/** The first filter that refuses the host, or null when all pass. */
export function firstRefusal(host: HostState, spec: RequestSpec): Refusal | null {
  for (const filter of FILTERS) {
    const reason = filter.refuse(host, spec);
    if (reason !== null) return { host: host.name, filter: filter.name, reason };
  }
  return null;
}

/** Splits hosts into those every filter passes and those one refused (with the first refusal). */
export function filterHosts(
  hosts: readonly HostState[],
  spec: RequestSpec,
): { passed: HostState[]; refused: Refusal[] } {
  const passed: HostState[] = [];
  const refused: Refusal[] = [];
  for (const host of hosts) {
    const refusal = firstRefusal(host, spec);
    if (refusal) refused.push(refusal);
    else passed.push(host);
  }
  return { passed, refused };
}

/**
 * Nova's RAMWeigher: most free memory first (a host whose memory is unknown after those whose
 * memory is known), then by name.
 */
export function weighHosts(hosts: readonly HostState[]): HostState[] {
  const weight = (host: HostState) => freeResources(host).memoryMiB ?? -Infinity;
  return [...hosts].sort((a, b) => {
    if (weight(a) !== weight(b)) return weight(b) > weight(a) ? 1 : -1;
    return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
  });
}

function checkRequestedHost(hosts: readonly HostState[], spec: RequestSpec, name: string): string {
  if (name === spec.sourceHost && !spec.allowSameHost) {
    throw migrationFailure(
      'UnableToMigrateToSelf',
      `unable to migrate instance ${spec.instanceName} to its own host ${name}`,
    );
  }
  const host = hosts.find((candidate) => candidate.name === name);
  if (!host) throw migrationFailure('NoValidHost', `host ${name} is not registered`);
  const refusal = firstRefusal(host, spec);
  if (refusal?.filter === ComputeFilter.name) {
    throw migrationFailure('ComputeServiceUnavailable', `host ${name} is ${serviceState(host)}`);
  }
  if (refusal) {
    throw migrationFailure(
      'NoValidHost',
      `host ${name} cannot take instance ${spec.instanceName}: ${refusal.filter}: ${refusal.reason}`,
    );
  }
  return name;
}

/** How many destinations selectDestinations returns: the best host and its alternates. */
export const DESTINATIONS_RETURNED = 10;

/**
 * The destinations for a migration, best first: with `requestedHost`, that host alone once it
 * passes every filter; otherwise the best DESTINATIONS_RETURNED of the hosts that pass, chosen in
 * the database (placement.ts). The source only with `allowSameHost`. Neither this migration's own
 * claims nor the instance's own flavor are counted against any host: on the source, the new size
 * replaces the old one. When no host passes, every host's state is read to say why. Once it has
 * answered, `events` (the scheduling step's start) are recorded, as recordActionEvents does: a
 * call that fails records none, and the workflow records them with the step's failure.
 */
export async function selectDestinations(
  db: Database,
  request: DestinationRequest & { events?: ActionEventRecord[] },
  actionIds?: ActionIds,
): Promise<string[]> {
  const chosen = await select(db, request);
  if (request.events) await recordActionEvents(db, request.events, actionIds);
  return chosen;
}

async function select(db: Database, request: DestinationRequest): Promise<string[]> {
  const migration = await getMigrationToPlace(db, request.migrationUuid);
  const exclusions = {
    excludeMigrationId: migration.id,
    excludeInstanceUuid: migration.instanceUuid,
  };
  const specWith = (source: HypervisorFacts | undefined): RequestSpec => ({
    instanceName: migration.instanceName,
    sourceHost: migration.sourceHost,
    source,
    ignoreHosts: request.exclude,
    allowSameHost: request.allowSameHost ?? false,
    needs: migration.needs,
  });
  if (request.requestedHost !== null) {
    const names = [migration.sourceHost, request.requestedHost];
    const states = await readHostStates(db, { names, ...exclusions });
    const source = states.find((host) => host.name === migration.sourceHost);
    return [checkRequestedHost(states, specWith(source), request.requestedHost)];
  }
  // Only the source's hypervisor matters here, not its usage: its one row, not its HostState.
  const source = await db.host.findUnique({
    where: { name: migration.sourceHost },
    select: { arch: true, hypervisorType: true, hypervisorVersion: true },
  });
  const spec = specWith(source ?? undefined);
  const placed = await placeInstance(db, { ...spec, ...exclusions, limit: DESTINATIONS_RETURNED });
  if (placed.length > 0) return placed;
  const { passed, refused } = filterHosts(await readHostStates(db, exclusions), spec);
  if (passed.length > 0) return weighHosts(passed).map((host) => host.name);
  const reasons = refused.map(({ host, filter, reason }) => `${host} (${filter}: ${reason})`);
  throw migrationFailure(
    'NoValidHost',
    `no valid host for instance ${spec.instanceName}: ${reasons.join(', ')}`,
  );
}
