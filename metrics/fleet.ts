/**
 * The fleet's figures, read from the database at each scrape: the Migration and DrainItem rows are
 * what lasts, so a restart resets nothing and every process serving them (the API, the control
 * worker) answers the same (docs/metrics.md). Each metric is one aggregate query: counts and sums
 * by label, never the rows themselves.
 */
import { Counter, Gauge, Registry } from 'prom-client';
import { providerOf, type Database } from '../db/database';
import { FINISHED_MIGRATION_STATUSES } from '../workflows/operation-types';
import { rowsHistogram, type HistogramRow } from './rows-histogram';

/** Migration.migrationType's values; gauges and histograms show each, 0 when it has no rows. */
export const MIGRATION_TYPES = ['live-migration', 'migration', 'resize'] as const;

/** DrainItem.state's values. */
export const DRAIN_ITEM_STATES = [
  'planned',
  'queued',
  'moving',
  'moved',
  'failed',
  'left',
] as const;

/** From a few seconds (a small guest's live migration) to a day (a resize awaiting its confirm). */
export const DURATION_BUCKETS_SECONDS = [
  5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200, 21600, 86400,
] as const;

/** Around the default 500 ms limit of the downtime steps. */
export const DOWNTIME_BUCKETS_MS = [10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000] as const;

/** The finished statuses as an SQL list; constants of ferry's, never input. */
const FINISHED_SQL = FINISHED_MIGRATION_STATUSES.map((status) => `'${status}'`).join(', ');

/**
 * Seconds from a migration's creation to its end, in the database's own SQL. SQLite's julianday is
 * a day count in a double, off by some microseconds: rounded to the millisecond timestamps have.
 */
function durationSeconds(db: Database): string {
  return providerOf(db) === 'postgresql'
    ? 'EXTRACT(EPOCH FROM ("finishedAt" - "createdAt"))'
    : 'ROUND((julianday("finishedAt") - julianday("createdAt")) * 86400000.0) / 1000.0';
}

interface BucketRow {
  label: string | null;
  count: number | bigint;
  sum: number | null;
  [bucket: `b${number}`]: number | bigint;
}

/**
 * One query: per `label` (or one row when null), the values of `value` counted at or below each
 * bucket bound, their sum and their count, over the rows `where` selects.
 */
async function bucketRows(
  db: Database,
  query: { value: string; label: string | null; where: string; buckets: readonly number[] },
): Promise<BucketRow[]> {
  const buckets = query.buckets.map(
    (le, i) => `CAST(SUM(CASE WHEN v <= ${le} THEN 1 ELSE 0 END) AS INTEGER) AS b${i}`,
  );
  const label = query.label ?? 'NULL';
  const sql = `SELECT ${query.label ? 'label' : 'NULL AS label'}, CAST(COUNT(*) AS INTEGER) AS count,
    CAST(SUM(v) AS DOUBLE PRECISION) AS sum, ${buckets.join(', ')}
    FROM (SELECT ${label} AS label, ${query.value} AS v FROM "Migration" WHERE ${query.where}) AS measured
    ${query.label ? 'GROUP BY label' : ''}`;
  return db.$queryRawUnsafe<BucketRow[]>(sql);
}

function histogramRow(
  row: BucketRow | undefined,
  labels: Record<string, string>,
  buckets: readonly number[],
): HistogramRow {
  return {
    labels,
    cumulative: buckets.map((_, i) => Number(row?.[`b${i}`] ?? 0)),
    sum: Number(row?.sum ?? 0),
    count: Number(row?.count ?? 0),
  };
}

/** A registry of the fleet's figures, read from `db` whenever it is collected. */
export function fleetRegistry(db: Database): Registry {
  const registry = new Registry();
  const registers = [registry];

  new Counter({
    name: 'ferry_migrations_total',
    help: 'Migrations that ended, by type and final status (Migration rows)',
    labelNames: ['type', 'status'],
    registers,
    async collect() {
      const groups = await db.migration.groupBy({
        by: ['migrationType', 'status'],
        where: { status: { in: FINISHED_MIGRATION_STATUSES } },
        _count: { _all: true },
      });
      this.reset();
      for (const group of groups) {
        this.inc({ type: group.migrationType, status: group.status }, group._count._all);
      }
    },
  });

  new Gauge({
    name: 'ferry_migrations_in_progress',
    help: 'Migrations not ended yet (accepted, queued, running, awaiting confirmation ...), by type',
    labelNames: ['type'],
    registers,
    async collect() {
      const groups = await db.migration.groupBy({
        by: ['migrationType'],
        where: { status: { notIn: FINISHED_MIGRATION_STATUSES } },
        _count: { _all: true },
      });
      for (const type of MIGRATION_TYPES) {
        const group = groups.find((g) => g.migrationType === type);
        this.set({ type }, group?._count._all ?? 0);
      }
    },
  });

  new Counter({
    name: 'ferry_migration_data_processed_bytes_total',
    help: 'Bytes of memory and disk the migrations that ended transferred (Migration rows)',
    labelNames: ['kind'],
    registers,
    async collect() {
      const { _sum } = await db.migration.aggregate({
        where: { status: { in: FINISHED_MIGRATION_STATUSES } },
        _sum: { memoryProcessedBytes: true, diskProcessedBytes: true },
      });
      this.reset();
      this.inc({ kind: 'memory' }, Number(_sum.memoryProcessedBytes ?? 0));
      this.inc({ kind: 'disk' }, Number(_sum.diskProcessedBytes ?? 0));
    },
  });

  registry.registerMetric(
    rowsHistogram({
      name: 'ferry_migration_duration_seconds',
      help: 'Seconds from the request to the end, of the migrations that ended, by type',
      buckets: DURATION_BUCKETS_SECONDS,
      async read() {
        const rows = await bucketRows(db, {
          value: durationSeconds(db),
          label: '"migrationType"',
          where: `"status" IN (${FINISHED_SQL}) AND "finishedAt" IS NOT NULL`,
          buckets: DURATION_BUCKETS_SECONDS,
        });
        return MIGRATION_TYPES.map((type) =>
          histogramRow(
            rows.find((row) => row.label === type),
            { type },
            DURATION_BUCKETS_SECONDS,
          ),
        );
      },
    }),
  );

  registry.registerMetric(
    rowsHistogram({
      name: 'ferry_live_migration_downtime_milliseconds',
      help: "Guest downtime of the completed live migrations, from libvirt's job stats",
      buckets: DOWNTIME_BUCKETS_MS,
      async read() {
        const [row] = await bucketRows(db, {
          value: '"downtimeMs"',
          label: null,
          where: `"status" = 'completed' AND "downtimeMs" IS NOT NULL`,
          buckets: DOWNTIME_BUCKETS_MS,
        });
        return [histogramRow(row, {}, DOWNTIME_BUCKETS_MS)];
      },
    }),
  );

  new Gauge({
    name: 'ferry_drain_instances',
    help: 'Instances of the running host drains, by state (DrainItem rows)',
    labelNames: ['state'],
    registers,
    async collect() {
      const groups = await db.drainItem.groupBy({
        by: ['state'],
        where: { drain: { status: 'running' } },
        _count: { _all: true },
      });
      for (const state of DRAIN_ITEM_STATES) {
        this.set({ state }, groups.find((g) => g.state === state)?._count._all ?? 0);
      }
    },
  });

  return registry;
}
