import type { DatabaseClient } from './transactions';
import { serviceState } from './host-liveness';

/** An amount of each resource the scheduler and the claims count. */
export interface Resources {
  vcpus: number;
  memoryMiB: number;
  diskGiB: number;
}

/**
 * Nova's initial_cpu_allocation_ratio, initial_ram_allocation_ratio and
 * initial_disk_allocation_ratio defaults: a host offers four vCPUs per physical CPU, and its RAM
 * and disk as they are.
 */
export const ALLOCATION_RATIOS: Resources = { vcpus: 4.0, memoryMiB: 1.0, diskGiB: 1.0 };

/** A host as the scheduler sees it (Nova's HostState): its Host row and what is used on it. */
export interface HostState {
  name: string;
  /** up | down | disabled */
  state: string;
  disabledReason: string | null;
  arch: string | null;
  hypervisorType: string | null;
  hypervisorVersion: number | null;
  /** What the hypervisor reported; 0 means not known (never reported). */
  total: Resources;
  used: Resources;
}

/** What a destination's hypervisor is checked against: the source's arch, type and version. */
export type HypervisorFacts = Pick<HostState, 'arch' | 'hypervisorType' | 'hypervisorVersion'>;

/** Free amount of each resource, or null where the host's total is not known. */
export type FreeResources = { [K in keyof Resources]: number | null };

/**
 * What is left of each resource: total × allocation ratio − used. A total of 0 means the
 * hypervisor never reported it, so that resource is unknown (null) and nothing is refused for it.
 */
export function freeResources(host: Pick<HostState, 'total' | 'used'>): FreeResources {
  const free = (key: keyof Resources) =>
    host.total[key] === 0
      ? null
      : Math.floor(host.total[key] * ALLOCATION_RATIOS[key]) - host.used[key];
  return { vcpus: free('vcpus'), memoryMiB: free('memoryMiB'), diskGiB: free('diskGiB') };
}

/** An instance placed on a host, with its flavor's size. */
export interface Placement {
  hostName: string;
  size: Resources;
}

/** A ResourceClaim row, with where its instance lives now and the size it has there. */
export interface ClaimPlacement extends Placement {
  instance: Placement;
}

/** The resources a flavor asks for. */
export function flavorResources(flavor: {
  vcpus: number;
  memoryMiB: number;
  rootDiskGiB: number;
}): Resources {
  return { vcpus: flavor.vcpus, memoryMiB: flavor.memoryMiB, diskGiB: flavor.rootDiskGiB };
}

function add(a: Resources, b: Resources): Resources {
  return {
    vcpus: a.vcpus + b.vcpus,
    memoryMiB: a.memoryMiB + b.memoryMiB,
    diskGiB: a.diskGiB + b.diskGiB,
  };
}

/** What `claim` holds beyond `held`, per resource (never negative). */
function beyond(claim: Resources, held: Resources): Resources {
  return {
    vcpus: Math.max(0, claim.vcpus - held.vcpus),
    memoryMiB: Math.max(0, claim.memoryMiB - held.memoryMiB),
    diskGiB: Math.max(0, claim.diskGiB - held.diskGiB),
  };
}

/**
 * What is used on a host: the flavors of the instances on it, plus the claims on it. A claim for
 * an instance that lives elsewhere (an incoming migration) counts in full; a claim for an
 * instance already on the host (a resize on the same host) counts only where it exceeds the
 * instance's flavor, so the host holds the larger of the two sizes and never both.
 */
export function hostUsage(
  hostName: string,
  instances: readonly Placement[],
  claims: readonly ClaimPlacement[],
): Resources {
  const zero = { vcpus: 0, memoryMiB: 0, diskGiB: 0 };
  const resident = instances
    .filter((instance) => instance.hostName === hostName)
    .map((instance) => instance.size);
  const claimed = claims
    .filter((claim) => claim.hostName === hostName)
    .map((claim) =>
      claim.instance.hostName === hostName ? beyond(claim.size, claim.instance.size) : claim.size,
    );
  return [...resident, ...claimed].reduce(add, zero);
}

function groupByHost<T extends { hostName: string }>(items: readonly T[]): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const group = groups.get(item.hostName);
    if (group) group.push(item);
    else groups.set(item.hostName, [item]);
  }
  return groups;
}

const FLAVOR_SIZE = { select: { vcpus: true, memoryMiB: true, rootDiskGiB: true } } as const;

/**
 * Reads the HostState of the named hosts (all hosts when `names` is not given), sorted by name.
 * `excludeMigrationId` leaves that migration's own claims out of the usage, and
 * `excludeInstanceUuid` that instance's own flavor (a resize on its own host replaces it).
 */
export async function readHostStates(
  db: DatabaseClient,
  options: { names?: string[]; excludeMigrationId?: number; excludeInstanceUuid?: string },
): Promise<HostState[]> {
  const onHosts = options.names ? { hostName: { in: options.names } } : {};
  const hosts = await db.host.findMany({
    where: options.names ? { name: { in: options.names } } : {},
    orderBy: { name: 'asc' },
  });
  const instances = await db.instance.findMany({
    where: {
      ...onHosts,
      ...(options.excludeInstanceUuid === undefined
        ? {}
        : { uuid: { not: options.excludeInstanceUuid } }),
    },
    select: { hostName: true, flavor: FLAVOR_SIZE },
  });
  const claims = await db.resourceClaim.findMany({
    where: {
      ...onHosts,
      ...(options.excludeMigrationId === undefined
        ? {}
        : { migrationId: { not: options.excludeMigrationId } }),
    },
    select: {
      hostName: true,
      vcpus: true,
      memoryMiB: true,
      diskGiB: true,
      instance: { select: { hostName: true, flavor: FLAVOR_SIZE } },
    },
  });
  const placements: Placement[] = instances.map(({ hostName, flavor }) => ({
    hostName,
    size: flavorResources(flavor),
  }));
  const claimPlacements: ClaimPlacement[] = claims.map((claim) => ({
    hostName: claim.hostName,
    size: { vcpus: claim.vcpus, memoryMiB: claim.memoryMiB, diskGiB: claim.diskGiB },
    instance: { hostName: claim.instance.hostName, size: flavorResources(claim.instance.flavor) },
  }));
  // Grouped once, so each host's usage reads its own rows, not every row of the fleet.
  const placementsOn = groupByHost(placements);
  const claimsOn = groupByHost(claimPlacements);
  return hosts.map((host) => ({
    name: host.name,
    state: serviceState(host),
    disabledReason: host.disabledReason,
    arch: host.arch,
    hypervisorType: host.hypervisorType,
    hypervisorVersion: host.hypervisorVersion,
    total: { vcpus: host.vcpusTotal, memoryMiB: host.memoryMiBTotal, diskGiB: host.diskGiBTotal },
    used: hostUsage(host.name, placementsOn.get(host.name) ?? [], claimsOn.get(host.name) ?? []),
  }));
}
