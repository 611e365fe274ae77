/**
 * The fleet's metrics as the API and the control worker serve them: read from the Migration and
 * DrainItem rows that ferry's own control activities write, on real SQLite and PostgreSQL, checked
 * in the exposition text a scraper gets.
 */
import { randomUUID } from 'node:crypto';
import { createControlActivities } from '../../activities/control';
import { openDatabase, type Database } from '../../db/database';
import { migrateDatabase } from '../../db/migrate';
import { recordMigration } from '../../db/record-migration';
import { loadConfig } from '../../config';
import { DOWNTIME_BUCKETS_MS, DURATION_BUCKETS_SECONDS, fleetRegistry } from '../../metrics/fleet';
import type { MigrationProgress, MigrationResult } from '../../workflows/live-migration-contract';
import { scratchDatabase, type ScratchDatabase } from '../support/databases';
import { parseSamples, valueOf, type Samples } from '../support/metrics-text';

const GiB = 2 ** 30;

const progress = (memory: number, disk: number): MigrationProgress => ({
  memoryTotalBytes: memory,
  memoryProcessedBytes: memory,
  memoryRemainingBytes: 0,
  diskTotalBytes: disk,
  diskProcessedBytes: disk,
  diskRemainingBytes: 0,
  percent: 100,
  postCopy: false,
});

const completed = (downtimeMs: number, memory: number, disk: number): MigrationResult => ({
  attached: false,
  elapsedMs: 1000,
  downtimeMs,
  forced: null,
  progress: progress(memory, disk),
});

/** The cumulative bucket counts a histogram should show for `values`. */
const cumulative = (buckets: readonly number[], values: number[]) =>
  Object.fromEntries(
    [...buckets.map(String), '+Inf'].map((le) => [
      le,
      values.filter((value) => le === '+Inf' || value <= Number(le)).length,
    ]),
  );

function buckets(samples: Samples, name: string, labels: Record<string, string> = {}) {
  const bounds = name.includes('downtime') ? DOWNTIME_BUCKETS_MS : DURATION_BUCKETS_SECONDS;
  return Object.fromEntries(
    [...bounds.map(String), '+Inf'].map((le) => [
      le,
      valueOf(samples, `${name}_bucket`, { ...labels, le }),
    ]),
  );
}

describe.each(['sqlite', 'postgresql'] as const)('fleet metrics on %s', (provider) => {
  let scratch: ScratchDatabase;
  let db: Database;
  let control: ReturnType<typeof createControlActivities>;

  beforeAll(async () => {
    scratch = await scratchDatabase(provider);
    await migrateDatabase(scratch.url);
    db = await openDatabase(scratch.url);
    control = createControlActivities(db, loadConfig({}));
    await db.host.createMany({
      data: ['host1', 'host2'].map((name) => ({ name, libvirtUri: `qemu+tcp://${name}/system` })),
    });
    await db.flavor.create({
      data: { id: 'small', name: 'small', vcpus: 1, memoryMiB: 512, rootDiskGiB: 1 },
    });
  });

  afterAll(async () => {
    await db?.$disconnect();
    await scratch?.drop();
  });

  const scrape = async () => parseSamples(await fleetRegistry(db).metrics());

  /** A new instance on host1 and its Migration row, recorded as a request records it. */
  async function migrationOf(type: 'live-migration' | 'migration' | 'resize') {
    const instance = await db.instance.create({
      data: {
        uuid: randomUUID(),
        name: `vm-${randomUUID()}`,
        hostName: 'host1',
        flavorId: 'small',
      },
    });
    const migration = await recordMigration(db, {
      instance,
      migrationType: type,
      workflowId: `instance-${instance.uuid}`,
    });
    await control.beginInstanceOperation({
      migrationUuid: migration.uuid,
      taskState: 'migrating',
      action: type,
      requestedBy: 'admin:test',
    });
    return migration.uuid;
  }

  /**
   * Moves a finished migration's creation `seconds` before its end: the one place the test writes
   * a row itself, so that durations are exact rather than however long the test took.
   */
  async function lasted(uuid: string, seconds: number): Promise<void> {
    const { finishedAt } = await db.migration.findUniqueOrThrow({ where: { uuid } });
    const createdAt = new Date((finishedAt as Date).getTime() - seconds * 1000);
    await db.migration.update({ where: { uuid }, data: { createdAt } });
  }

  it('counts ended migrations, the ones in progress, bytes, durations and downtimes from the rows', async () => {
    const before = await scrape();
    expect(valueOf(before, 'ferry_migrations_in_progress', { type: 'live-migration' })).toBe(0);
    expect(valueOf(before, 'ferry_migration_duration_seconds_count', { type: 'resize' })).toBe(0);
    expect(valueOf(before, 'ferry_live_migration_downtime_milliseconds_count')).toBe(0);

    const fast = await migrationOf('live-migration');
    await control.completeLiveMigration({
      migrationUuid: fast,
      destHost: 'host2',
      result: completed(40, 1 * GiB, 0),
    });
    await lasted(fast, 3);
    const slow = await migrationOf('live-migration');
    await control.completeLiveMigration({
      migrationUuid: slow,
      destHost: 'host2',
      result: completed(700, 2 * GiB, 5 * GiB),
    });
    await lasted(slow, 90);
    const cold = await migrationOf('migration');
    await control.failMigration({
      migrationUuid: cold,
      status: 'failed',
      error: 'the copy failed',
      instanceError: false,
    });
    await lasted(cold, 7200);
    const running = await migrationOf('live-migration');
    await control.setMigrationStatus({ migrationUuid: running, status: 'running' });
    await control.saveMigrationProgress({ migrationUuid: running, progress: progress(GiB, GiB) });

    const after = await scrape();
    const total = (type: string, status: string) =>
      valueOf(after, 'ferry_migrations_total', { type, status });
    expect(total('live-migration', 'completed')).toBe(2);
    expect(total('migration', 'failed')).toBe(1);
    expect(total('live-migration', 'running')).toBe(0);
    expect(
      Object.fromEntries(
        ['live-migration', 'migration', 'resize'].map((type) => [
          type,
          valueOf(after, 'ferry_migrations_in_progress', { type }),
        ]),
      ),
    ).toEqual({ 'live-migration': 1, migration: 0, resize: 0 });
    // The running migration's bytes count once it ends.
    expect(valueOf(after, 'ferry_migration_data_processed_bytes_total', { kind: 'memory' })).toBe(
      3 * GiB,
    );
    expect(valueOf(after, 'ferry_migration_data_processed_bytes_total', { kind: 'disk' })).toBe(
      5 * GiB,
    );

    const duration = 'ferry_migration_duration_seconds';
    const live = { type: 'live-migration' };
    expect(buckets(after, duration, live)).toEqual(cumulative(DURATION_BUCKETS_SECONDS, [3, 90]));
    expect(valueOf(after, `${duration}_sum`, live)).toBeCloseTo(93, 3);
    expect(valueOf(after, `${duration}_count`, live)).toBe(2);
    expect(buckets(after, duration, { type: 'migration' })).toEqual(
      cumulative(DURATION_BUCKETS_SECONDS, [7200]),
    );
    expect(valueOf(after, `${duration}_sum`, { type: 'migration' })).toBeCloseTo(7200, 3);
    expect(valueOf(after, `${duration}_count`, { type: 'resize' })).toBe(0);

    const downtime = 'ferry_live_migration_downtime_milliseconds';
    expect(buckets(after, downtime)).toEqual(cumulative(DOWNTIME_BUCKETS_MS, [40, 700]));
    expect(valueOf(after, `${downtime}_sum`)).toBe(740);
    expect(valueOf(after, `${downtime}_count`)).toBe(2);
  });

  it('shows the instances of the running drains by state', async () => {
    const drain = (status: string) =>
      db.drain.create({
        data: {
          uuid: randomUUID(),
          host: 'host1',
          status,
          concurrency: 1,
          attempts: 1,
          workflowId: `drain-${randomUUID()}`,
        },
      });
    const items = (drainId: number, states: string[]) =>
      db.drainItem.createMany({
        data: states.map((state, i) => ({
          drainId,
          instanceUuid: randomUUID(),
          instanceName: `vm-${i}`,
          action: 'live',
          state,
        })),
      });
    await items((await drain('running')).id, ['moved', 'moved', 'moving', 'planned', 'failed']);
    await items((await drain('completed')).id, ['moved', 'moved', 'moved']);

    const samples = await scrape();
    expect(
      Object.fromEntries(
        ['planned', 'queued', 'moving', 'moved', 'failed', 'left'].map((state) => [
          state,
          valueOf(samples, 'ferry_drain_instances', { state }),
        ]),
      ),
    ).toEqual({ planned: 1, queued: 0, moving: 1, moved: 2, failed: 1, left: 0 });
  });

  it('answers the same from every registry: a restart or a second process resets nothing', async () => {
    const ferryLines = (text: string) =>
      text.split('\n').filter((line) => line.startsWith('ferry_'));
    const first = ferryLines(await fleetRegistry(db).metrics());
    const second = ferryLines(await fleetRegistry(db).metrics());
    expect(first.length).toBeGreaterThan(40);
    expect(second).toEqual(first);
  });
});
