/**
 * A drain at scale: a host holding 1,000 running instances emptied onto 19 others, started as a
 * user starts it (startDrain), on this run's Temporal server with the real hostDrain and
 * liveMigration workflows, the real control activities on PostgreSQL, and the real host activities
 * on 20 sim hosts (docs/sim-driver.md). The drain must continue as new on the way, each run's
 * history staying under Temporal's 10,240-event warning.
 */
import {
  Client,
  Connection,
  type WorkflowClientInterceptor,
  type WorkflowHandle,
} from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { randomUUID } from 'node:crypto';
import { createControlActivities } from '../../activities/control';
import { liveMigrationSettings } from '../../activities/host/live-migration/settings';
import { startDrain } from '../../client/drain';
import { loadConfig } from '../../config';
import { createLogger } from '../../config/logging';
import { openDatabase, type Database } from '../../db/database';
import { migrateDatabase } from '../../db/migrate';
import { SimFleet } from '../../virt/sim/fleet';
import { startSimAgents, type SimAgents } from '../../worker/sim-agents';
import type { DrainState } from '../../workflows/drain-contract';
import { scratchDatabase, type ScratchDatabase } from '../support/databases';
import { historyEventsPerRun } from '../support/drain-runs';
import { populateSimFleet, simHostName, type SimInstance } from '../support/sim-fleet';

const HOSTS = 20;
const INSTANCES = 1000;
/** Moves at once: the drain's window, the source's and the fleet's migration slots alike. */
const CONCURRENCY = 20;

jest.setTimeout(15 * 60_000);

describe('draining a host of 1,000 instances on the sim driver', () => {
  const address = process.env.FERRY_TEST_TEMPORAL_ADDRESS as string;
  const taskQueue = `ferry-drain-scale-test-${randomUUID()}`;
  const source = simHostName(0);
  let scratch: ScratchDatabase;
  let db: Database;
  let fleet: SimFleet;
  let instances: SimInstance[];
  let connection: NativeConnection;
  let client: Client;
  let control: Worker | undefined;
  let controlRun: Promise<void> | undefined;
  let agents: SimAgents | undefined;
  let drainHandle: WorkflowHandle | undefined;
  const config = loadConfig({
    FERRY_MAX_CONCURRENT_MIGRATIONS: String(CONCURRENCY),
    FERRY_MAX_CONCURRENT_LIVE_MIGRATIONS: String(CONCURRENCY),
  });

  beforeAll(async () => {
    scratch = await scratchDatabase('postgresql');
    await migrateDatabase(scratch.url);
    db = await openDatabase(scratch.url);
    fleet = new SimFleet();
    instances = await populateSimFleet(db, fleet, {
      hosts: HOSTS,
      instances: INSTANCES,
      placeOn: () => 0,
    });
    connection = await NativeConnection.connect({ address });
    // The start path names ferry's control queue; this test's control worker serves its own, and
    // the drain's children and continuations stay on their parent's queue.
    const toTestQueue: WorkflowClientInterceptor = {
      start: (input, next) => next({ ...input, options: { ...input.options, taskQueue } }),
    };
    client = new Client({
      connection: await Connection.connect({ address }),
      interceptors: { workflow: [toTestQueue] },
    });
    control = await Worker.create({
      connection,
      taskQueue,
      workflowsPath: require.resolve('../../workflows'),
      activities: createControlActivities(db, config),
    });
    controlRun = control.run();
    agents = await startSimAgents({
      connection,
      client,
      namespace: 'default',
      fleet,
      liveMigration: liveMigrationSettings(config),
      log: createLogger({ logLevel: 'error', logFormat: 'json' }, 'test'),
    });
  });

  afterAll(async () => {
    await drainHandle?.terminate().catch(() => undefined);
    await agents?.shutdown();
    control?.shutdown();
    await controlRun;
    await client?.connection.close();
    await connection?.close();
    await db?.$disconnect();
    await scratch?.drop();
  });

  it('moves every instance off once, leaves the host empty and disabled, each run under the warning', async () => {
    const started = await startDrain(db, client, config, {
      host: source,
      concurrency: CONCURRENCY,
      requestedBy: 'test',
    });
    drainHandle = client.workflow.getHandle(started.workflowId);

    const final = (await drainHandle.result()) as DrainState;

    expect(final.status).toBe('completed');
    expect(final.items.filter((item) => item.state !== 'moved')).toEqual([]);
    const drain = await db.drain.findUniqueOrThrow({
      where: { uuid: started.uuid },
      include: { items: true },
    });
    expect(drain.status).toBe('completed');
    expect(drain.items).toHaveLength(INSTANCES);
    expect(drain.items.filter((item) => item.state !== 'moved')).toEqual([]);

    const rows = await db.instance.findMany({ orderBy: { name: 'asc' } });
    expect(rows).toHaveLength(INSTANCES);
    const byUuid = new Map(rows.map((row) => [row.uuid, row]));
    const misplaced = instances.flatMap(({ uuid, name }) => {
      const row = byUuid.get(uuid);
      const simHosts = fleet.hostsOf(uuid);
      const placed =
        row !== undefined &&
        row.hostName !== source &&
        row.taskState === null &&
        simHosts.length === 1 &&
        simHosts[0] === row.hostName;
      return placed ? [] : [{ name, hostName: row?.hostName, taskState: row?.taskState, simHosts }];
    });
    expect(misplaced).toEqual([]);

    const migrations = await db.migration.findMany();
    expect(migrations).toHaveLength(INSTANCES);
    const wrong = migrations.filter((migration) => {
      const row = byUuid.get(migration.instanceUuid);
      return (
        migration.status !== 'completed' ||
        migration.migrationType !== 'live-migration' ||
        migration.sourceHost !== source ||
        migration.destHost !== row?.hostName
      );
    });
    expect(wrong).toEqual([]);
    expect(new Set(migrations.map((migration) => migration.instanceUuid)).size).toBe(INSTANCES);

    expect(fleet.on(source).size).toBe(0);
    expect(await db.host.findUniqueOrThrow({ where: { name: source } })).toMatchObject({
      state: 'disabled',
      disabledReason: 'draining',
    });
    expect(await db.resourceClaim.count()).toBe(0);

    const eventsPerRun = await historyEventsPerRun(client, started.workflowId);
    expect(eventsPerRun.length).toBeGreaterThan(1);
    expect(eventsPerRun).toHaveLength(final.runs);
    expect(eventsPerRun.filter((events) => events >= 10_000)).toEqual([]);
  });
});
