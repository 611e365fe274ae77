/**
 * The scheduler's filters and weigher as one SQL query, as Nova's Placement answers "which
 * providers have room": each host's usage from HostUsage (its instances' flavors, kept by database
 * triggers) and the claims in flight, only the hosts every filter passes returned, best first, at
 * most `limit`. The same rules as the pure filters in scheduler.ts (which still explain a
 * refusal); test/integration/placement.test.ts holds the two to agreement. One host's capacity is
 * read the same way for the claim's check (readHostCapacity).
 */
import { Prisma } from '../../db/models';
import {
  ALLOCATION_RATIOS,
  type HostState,
  type HypervisorFacts,
  type Resources,
} from '../../db/host-state';
import { providerOf, type Database } from '../../db/database';
import type { DatabaseClient } from '../../db/transactions';

export interface PlacementRequest extends UsageExclusions {
  /** The host the instance is on: refused unless `allowSameHost`. */
  sourceHost: string;
  /** The source's hypervisor, which a destination's must be compatible with. */
  source: HypervisorFacts | undefined;
  ignoreHosts: readonly string[];
  allowSameHost?: boolean;
  needs: Resources;
  limit: number;
}

const COLUMN = { vcpus: 'vcpusTotal', memoryMiB: 'memoryMiBTotal', diskGiB: 'diskGiBTotal' };

/** Whose usage is not counted: a migration's own claims, and its instance's own flavor. */
export interface UsageExclusions {
  /** The migration whose own claims are not counted. */
  excludeMigrationId: number;
  /** The instance whose own flavor is not counted (on its own host the new size replaces it). */
  excludeInstanceUuid: string;
}

/**
 * What a host uses, as freeResources counts it: its instances (u, HostUsage) without the instance
 * being placed (x, on its own host) plus the claims of other migrations (c).
 */
function used(key: keyof Resources): string {
  return `COALESCE(u."${key}", 0) - COALESCE(x."${key}", 0) + COALESCE(c."${key}", 0)`;
}

/** total × allocation ratio (floored) − used, as freeResources computes it. */
function free(key: keyof Resources): Prisma.Sql {
  const ratio = ALLOCATION_RATIOS[key];
  const capacity = Number.isInteger(ratio)
    ? `h."${COLUMN[key]}" * ${ratio}`
    : `CAST(FLOOR(h."${COLUMN[key]}" * ${ratio}) AS INTEGER)`;
  return Prisma.raw(`(${capacity} - (${used(key)}))`);
}

/** A resource of unknown total (0) passes; otherwise what is free must hold what is needed. */
function fits(key: keyof Resources, needs: Resources): Prisma.Sql {
  return Prisma.sql`(h.${Prisma.raw(`"${COLUMN[key]}"`)} = 0 OR ${free(key)} >= ${needs[key]})`;
}

/** What a claim holds beyond the flavor its instance already has on that host (never negative). */
function beyond(claim: string, flavor: string): string {
  return `CASE WHEN cl."hostName" <> ci."hostName" THEN cl."${claim}" WHEN cl."${claim}" > cf."${flavor}" THEN cl."${claim}" - cf."${flavor}" ELSE 0 END`;
}

function compatibleWith(source: HypervisorFacts | undefined): Prisma.Sql[] {
  const conditions: Prisma.Sql[] = [];
  if (source?.arch) conditions.push(Prisma.sql`(h."arch" IS NULL OR h."arch" = ${source.arch})`);
  if (source?.hypervisorType) {
    conditions.push(
      Prisma.sql`(h."hypervisorType" IS NULL OR h."hypervisorType" = ${source.hypervisorType})`,
    );
  }
  if (typeof source?.hypervisorVersion === 'number') {
    conditions.push(
      Prisma.sql`(h."hypervisorVersion" IS NULL OR h."hypervisorVersion" >= ${source.hypervisorVersion})`,
    );
  }
  return conditions;
}

/**
 * The claims of other migrations summed per host (c) and the instance's own flavor where it is
 * (x). Materialized, so the claims are summed once whatever the planner estimates (a nested loop
 * re-ran such sums per host on a PostgreSQL database without statistics yet: 5 s, not 50 ms).
 */
function usageSources(exclusions: UsageExclusions): Prisma.Sql {
  return Prisma.sql`
    WITH c AS MATERIALIZED (
      SELECT cl."hostName" AS host,
        SUM(${Prisma.raw(beyond('vcpus', 'vcpus'))}) AS "vcpus",
        SUM(${Prisma.raw(beyond('memoryMiB', 'memoryMiB'))}) AS "memoryMiB",
        SUM(${Prisma.raw(beyond('diskGiB', 'rootDiskGiB'))}) AS "diskGiB"
      FROM "ResourceClaim" cl
        JOIN "Instance" ci ON ci."uuid" = cl."instanceUuid"
        JOIN "Flavor" cf ON cf."id" = ci."flavorId"
      WHERE cl."migrationId" <> ${exclusions.excludeMigrationId}
      GROUP BY cl."hostName"
    ), x AS MATERIALIZED (
      SELECT xi."hostName" AS host, xf."vcpus", xf."memoryMiB", xf."rootDiskGiB" AS "diskGiB"
      FROM "Instance" xi JOIN "Flavor" xf ON xf."id" = xi."flavorId"
      WHERE xi."uuid" = ${exclusions.excludeInstanceUuid}
    )`;
}

const USAGE_JOINS = Prisma.raw(
  'LEFT JOIN "HostUsage" u ON u."hostName" = h."name" ' +
    'LEFT JOIN x ON x.host = h."name" LEFT JOIN c ON c.host = h."name"',
);

/**
 * The names of the hosts that pass every filter, most free memory first (unknown memory last),
 * equal weights by name in code-point order (the provider's binary collation).
 */
export async function placeInstance(db: Database, request: PlacementRequest): Promise<string[]> {
  const nameOrder = providerOf(db) === 'postgresql' ? '"C"' : 'BINARY';
  const ignored = [...request.ignoreHosts, ...(request.allowSameHost ? [] : [request.sourceHost])];
  const conditions = [
    Prisma.sql`h."state" = 'up'`,
    Prisma.sql`NOT h."forcedDown"`,
    ...(ignored.length > 0 ? [Prisma.sql`h."name" NOT IN (${Prisma.join(ignored)})`] : []),
    ...compatibleWith(request.source),
    fits('memoryMiB', request.needs),
    fits('diskGiB', request.needs),
    fits('vcpus', request.needs),
  ];
  const rows = await db.$queryRaw<{ name: string }[]>`
    ${usageSources(request)}
    SELECT h."name" AS name
    FROM "Host" h ${USAGE_JOINS}
    WHERE ${Prisma.join(conditions, ' AND ')}
    ORDER BY CASE WHEN h."memoryMiBTotal" = 0 THEN 1 ELSE 0 END,
      CASE WHEN h."memoryMiBTotal" = 0 THEN 0 ELSE ${free('memoryMiB')} END DESC,
      h."name" COLLATE ${Prisma.raw(nameOrder)}
    LIMIT ${request.limit}`;
  return rows.map((row) => row.name);
}

/** A host's capacity and usage as the placement query counts them. */
export type HostCapacity = Pick<HostState, 'name' | 'total' | 'used'>;

/**
 * What `host` has and uses, counted as placeInstance counts it, in one statement (readHostStates
 * reads a host's instances and claims one query each); null when it is not registered.
 */
export async function readHostCapacity(
  db: DatabaseClient,
  host: string,
  exclusions: UsageExclusions,
): Promise<HostCapacity | null> {
  const [row] = await db.$queryRaw<
    (Resources & { vcpusTotal: number; memoryMiBTotal: number; diskGiBTotal: number })[]
  >`
    ${usageSources(exclusions)}
    SELECT h."vcpusTotal", h."memoryMiBTotal", h."diskGiBTotal",
      CAST(${Prisma.raw(used('vcpus'))} AS INTEGER) AS "vcpus",
      CAST(${Prisma.raw(used('memoryMiB'))} AS INTEGER) AS "memoryMiB",
      CAST(${Prisma.raw(used('diskGiB'))} AS INTEGER) AS "diskGiB"
    FROM "Host" h ${USAGE_JOINS}
    WHERE h."name" = ${host}`;
  if (row === undefined) return null;
  return {
    name: host,
    total: { vcpus: row.vcpusTotal, memoryMiB: row.memoryMiBTotal, diskGiB: row.diskGiBTotal },
    used: { vcpus: row.vcpus, memoryMiB: row.memoryMiB, diskGiB: row.diskGiB },
  };
}
