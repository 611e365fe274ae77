/**
 * The liveMigration workflow end to end on the sim driver: the real workflow and control
 * activities on this run's Temporal server and a PostgreSQL database, and the real host activities
 * (pre-checks, monitor, progress, rollback) on two sim hosts of one SimFleet.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { WorkflowHandle } from '@temporalio/client';
import { createControlActivities } from '../../activities/control';
import { createHostActivities } from '../../activities/host';
import { liveMigrationSettings } from '../../activities/host/live-migration/settings';
import { loadConfig } from '../../config';
import { openDatabase, type Database } from '../../db/database';
import { migrateDatabase } from '../../db/migrate';
import { DOMAIN_STATE } from '../../virt/libvirt/binding';
import { DEFAULT_SIM_TIMINGS, SimFleet } from '../../virt/sim/fleet';
import { abortUpdate } from '../../workflows/live-migration-messages';
import type {
  LiveMigrationInput,
  LiveMigrationState,
  MigrationProgress,
} from '../../workflows/live-migration-contract';
import { instanceWorkflowId } from '../../workflows/operation-types';
import { MERGED_LIVE_MIGRATION_STEPS, markersOf } from '../support/history-markers';
import { scratchDatabase, type ScratchDatabase } from '../support/databases';
import { workflowHarness, type Harness } from '../support/workflow-harness';

const MIB = 1024 ** 2;
const FLAVOR = { id: 'sim-tiny', name: 'sim.tiny', vcpus: 1, memoryMiB: 512, rootDiskGiB: 1 };
const SETTINGS = {
  ...liveMigrationSettings(loadConfig({})),
  monitorIntervalMs: 100,
  progressSaveIntervalMs: 200,
};

interface Report {
  migrationUuid: string;
  progress: MigrationProgress;
}

describe('live migration on the sim driver, through the real host activities', () => {
  let harness: Harness;
  let scratch: ScratchDatabase;
  let db: Database;
  let root: string;

  beforeAll(async () => {
    harness = await workflowHarness();
    scratch = await scratchDatabase('postgresql');
    await migrateDatabase(scratch.url);
    db = await openDatabase(scratch.url);
    await db.flavor.create({ data: FLAVOR });
    root = await mkdtemp(join(tmpdir(), 'ferry-sim-test-'));
  });

  afterAll(async () => {
    await db?.$disconnect();
    await scratch?.drop();
    await harness?.close();
    if (root) await rm(root, { recursive: true, force: true });
  });

  /** Two sim hosts (in the fleet and the database) and one instance running on the first. */
  async function setUp(bandwidthMiBps: number) {
    const id = randomUUID().slice(0, 8);
    const [source, dest] = [`sim-src-${id}`, `sim-dst-${id}`];
    const fleet = new SimFleet({ ...DEFAULT_SIM_TIMINGS, bandwidthMiBps });
    for (const host of [source, dest]) {
      fleet.addHost(host);
      await mkdir(join(root, host));
      await db.host.create({
        data: {
          name: host,
          libvirtUri: SimFleet.uri(host),
          arch: 'x86_64',
          hypervisorType: 'QEMU',
          hypervisorVersion: 8_002_000,
          vcpusTotal: 8,
          memoryMiBTotal: 16 * 1024,
          diskGiBTotal: 100,
        },
      });
    }
    const instance = { uuid: randomUUID(), name: `vm-${id}`, memoryMiB: FLAVOR.memoryMiB };
    fleet.define(source, { ...instance, vcpus: FLAVOR.vcpus });
    await db.instance.create({
      data: { uuid: instance.uuid, name: instance.name, hostName: source, flavorId: FLAVOR.id },
    });
    const migrationUuid = randomUUID();
    const workflowId = instanceWorkflowId(instance.uuid);
    await db.migration.create({
      data: {
        uuid: migrationUuid,
        instanceUuid: instance.uuid,
        migrationType: 'live-migration',
        status: 'accepted',
        sourceHost: source,
        oldFlavorId: FLAVOR.id,
        newFlavorId: FLAVOR.id,
        workflowId,
      },
    });
    const input: LiveMigrationInput = {
      migrationUuid,
      instanceUuid: instance.uuid,
      instanceName: instance.name,
      sourceHost: source,
      requestedHost: dest,
      blockMigration: 'auto',
      maxConcurrentPerSource: 1,
      schedulerMaxAttempts: 3,
      requestedBy: 'test',
    };
    const reports: Report[] = [];
    const workers = {
      hosts: [source, dest],
      controlActivities: () => createControlActivities(db, loadConfig({})),
      hostActivities: (host: string) =>
        createHostActivities({
          hostName: host,
          hypervisor: fleet.hypervisor,
          libvirtUri: SimFleet.uri(host),
          instancesDir: join(root, host),
          liveMigration: SETTINGS,
          reportProgress: async (uuid, progress) => {
            reports.push({ migrationUuid: uuid, progress });
          },
        }),
    };
    const run = <T>(body: (handle: WorkflowHandle) => Promise<T>) =>
      harness.runWorkflow(workers, 'liveMigration', [input], workflowId, body);
    return { fleet, source, dest, instance, migrationUuid, reports, run };
  }

  it('moves the instance to the destination and reports progress on the way', async () => {
    // 512 MiB at 256 MiB/s: two seconds of copying, many monitor polls and progress reports.
    const sim = await setUp(256);

    const { state, history } = await sim.run(async (handle) => ({
      state: (await handle.result()) as LiveMigrationState,
      history: await handle.fetchHistory(),
    }));

    expect(state.status).toBe('completed');
    // One patch marker and the merged control steps (docs/local-activities.md, "Merged steps").
    const markers = markersOf(history);
    expect(markers.patches).toEqual(['control-steps-merged']);
    expect(markers.localActivities.filter((step) => step !== 'saveMigrationProgress')).toEqual(
      MERGED_LIVE_MIGRATION_STEPS,
    );
    expect(sim.fleet.hostsOf(sim.instance.uuid)).toEqual([sim.dest]);
    expect(sim.fleet.find(sim.dest, sim.instance.uuid)).toMatchObject({
      state: DOMAIN_STATE.RUNNING,
      persistent: true,
    });
    const instance = await db.instance.findUniqueOrThrow({ where: { uuid: sim.instance.uuid } });
    expect(instance).toMatchObject({ hostName: sim.dest, taskState: null, vmState: 'active' });
    // The destination's definition, recorded for an evacuation (docs/evacuate.md).
    expect(instance.domainXml).toContain(`<uuid>${sim.instance.uuid}</uuid>`);
    const migration = await db.migration.findUniqueOrThrow({ where: { uuid: sim.migrationUuid } });
    expect(migration).toMatchObject({
      status: 'completed',
      destHost: sim.dest,
      memoryTotalBytes: BigInt(512 * MIB),
      memoryRemainingBytes: 0n,
    });
    const mine = sim.reports.filter((report) => report.migrationUuid === sim.migrationUuid);
    expect(mine.map((report) => report.progress.memoryTotalBytes)).toContain(512 * MIB);
    // Every step's event finished, the last one's with the completion's write.
    const events = await db.instanceActionEvent.findMany({
      where: { action: { requestId: sim.migrationUuid } },
      orderBy: { id: 'asc' },
    });
    expect(events.map((event) => [event.event, event.result])).toEqual([
      ['compute_check_can_live_migrate_source', 'Success'],
      ['schedule:1', 'Success'],
      [`compute_check_can_live_migrate_destination:${sim.dest}`, 'Success'],
      ['compute_pre_live_migration', 'Success'],
      ['compute_live_migration', 'Success'],
      ['compute_post_live_migration', 'Success'],
    ]);
    for (const event of events) {
      expect(event.finishTime).not.toBeNull();
      expect(event.finishTime!.getTime()).toBeGreaterThanOrEqual(event.startTime.getTime());
    }
    // Each step started once the one before it had finished.
    for (let i = 1; i < events.length; i++) {
      expect(events[i].startTime.getTime()).toBeGreaterThanOrEqual(
        events[i - 1].finishTime!.getTime(),
      );
    }
  });

  it('aborted mid-copy, leaves the instance running on the source and nothing on the destination', async () => {
    // 512 MiB at 8 MiB/s: a minute of copying, far longer than the abort takes to arrive.
    const sim = await setUp(8);

    const outcome = await sim.run(async (handle) => {
      while (!sim.reports.some((report) => report.progress.memoryProcessedBytes > 0)) {
        await sleep(50);
      }
      await handle.executeUpdate(abortUpdate);
      return handle.result().then(
        () => null,
        (error: unknown) => error,
      );
    });

    expect(outcome).toBeInstanceOf(Error);
    expect(sim.fleet.hostsOf(sim.instance.uuid)).toEqual([sim.source]);
    expect(sim.fleet.find(sim.source, sim.instance.uuid)).toMatchObject({
      state: DOMAIN_STATE.RUNNING,
      job: null,
    });
    const instance = await db.instance.findUniqueOrThrow({ where: { uuid: sim.instance.uuid } });
    expect(instance).toMatchObject({ hostName: sim.source, taskState: null });
    const migration = await db.migration.findUniqueOrThrow({ where: { uuid: sim.migrationUuid } });
    expect(migration.status).toBe('cancelled');
  });
});
