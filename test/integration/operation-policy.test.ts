/**
 * Policy is the control plane's: a resize started through the real start path (client/start-resize)
 * by a process whose resize_confirm_window differs from the control worker's gets the control
 * worker's window. Real Temporal (the run's server), the real workflows and control activities on a
 * scratch database; MOCK host activities (test/support/fake-resize-activities.ts), since what is
 * checked is the control plane's.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  Client,
  Connection,
  defaultPayloadConverter,
  type WorkflowClientInterceptor,
} from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { createControlActivities } from '../../activities/control';
import { startResize } from '../../client/start-resize';
import { loadConfig } from '../../config';
import { openDatabase, type Database } from '../../db/database';
import { migrateDatabase } from '../../db/migrate';
import { resizeStatusQuery } from '../../workflows/resize-messages';
import { scratchDatabase, type ScratchDatabase } from '../support/databases';
import { FakeResizeFleet } from '../support/fake-resize-activities';

const CONTROL_WINDOW_S = 7200;
const CALLER_WINDOW_S = 60;

describe('operation policy', () => {
  const address = process.env.FERRY_TEST_TEMPORAL_ADDRESS as string;
  const taskQueue = `ferry-policy-test-${randomUUID()}`;
  const suffix = randomUUID().slice(0, 8);
  const [source, dest] = [`src-${suffix}`, `dst-${suffix}`];
  let scratch: ScratchDatabase;
  let db: Database;
  let connection: NativeConnection;
  let client: Client;
  let workers: Worker[];
  let running: Promise<void>[];
  let workflowId: string | undefined;

  beforeAll(async () => {
    scratch = await scratchDatabase('postgresql');
    await migrateDatabase(scratch.url);
    db = await openDatabase(scratch.url);
    const hypervisor = {
      arch: 'x86_64',
      hypervisorType: 'QEMU',
      hypervisorVersion: 8_002_000,
      vcpusTotal: 8,
      memoryMiBTotal: 16_384,
      diskGiBTotal: 100,
    };
    await db.host.createMany({
      data: [source, dest].map((name) => ({
        name,
        libvirtUri: `qemu+tcp://${name}/system`,
        ...hypervisor,
      })),
    });
    await db.flavor.createMany({
      data: [
        { id: 'small', name: 'small', vcpus: 1, memoryMiB: 512, rootDiskGiB: 1 },
        { id: 'medium', name: 'medium', vcpus: 2, memoryMiB: 1024, rootDiskGiB: 1 },
      ],
    });
    await db.instance.create({
      data: { uuid: randomUUID(), name: 'vm', hostName: source, flavorId: 'small' },
    });

    connection = await NativeConnection.connect({ address });
    const controlConfig = loadConfig({ FERRY_RESIZE_CONFIRM_WINDOW: String(CONTROL_WINDOW_S) });
    const fleet = new FakeResizeFleet(source, [source, dest]);
    workers = await Promise.all([
      Worker.create({
        connection,
        taskQueue,
        workflowsPath: require.resolve('../../workflows'),
        activities: createControlActivities(db, controlConfig),
      }),
      ...[source, dest].map((host) =>
        Worker.create({
          connection,
          taskQueue: `ferry-host-${host}`,
          activities: fleet.hostActivities(host),
        }),
      ),
    ]);
    running = workers.map((worker) => worker.run());
    // The start path names ferry's control queue; this test's control worker serves its own.
    const toTestQueue: WorkflowClientInterceptor = {
      start: (input, next) => next({ ...input, options: { ...input.options, taskQueue } }),
    };
    client = new Client({
      connection: await Connection.connect({ address }),
      interceptors: { workflow: [toTestQueue] },
    });
  });

  afterAll(async () => {
    if (workflowId)
      await client.workflow
        .getHandle(workflowId)
        .terminate()
        .catch(() => undefined);
    workers?.forEach((worker) => worker.shutdown());
    await Promise.all(running ?? []);
    await client?.connection.close();
    await connection?.close();
    await db?.$disconnect();
    await scratch?.drop();
  });

  it("a resize waits for the control worker's resize_confirm_window, not the caller's", async () => {
    const callerConfig = loadConfig({ FERRY_RESIZE_CONFIRM_WINDOW: String(CALLER_WINDOW_S) });
    expect(callerConfig.resizeConfirmWindowSeconds).toBe(CALLER_WINDOW_S);
    const started = await startResize(db, client, callerConfig, {
      instance: 'vm',
      flavor: 'medium',
      requestedBy: 'test',
    });
    workflowId = started.workflowId;
    const migration = () =>
      db.migration.findUniqueOrThrow({ where: { uuid: started.migrationUuid } });
    let row = await migration();
    for (let i = 0; i < 240 && !['finished', 'error'].includes(row.status); i++) {
      await sleep(250);
      row = await migration();
    }
    const handle = client.workflow.getHandle(started.workflowId);
    expect(row.status).toBe('finished');

    const window = ((row.confirmDeadline as Date).getTime() - Date.now()) / 1000;
    expect(window).toBeGreaterThan(CONTROL_WINDOW_S - 300);
    expect(window).toBeLessThanOrEqual(CONTROL_WINDOW_S);
    const state = await handle.query(resizeStatusQuery);
    expect(state.confirmDeadline).toBe((row.confirmDeadline as Date).toISOString());

    // The request carries no policy; the workflow asked the control worker for it.
    const history = await handle.fetchHistory();
    const [payload] =
      history.events?.[0].workflowExecutionStartedEventAttributes?.input?.payloads ?? [];
    const input = defaultPayloadConverter.fromPayload<Record<string, unknown>>(payload);
    expect(input).toMatchObject({ instanceName: 'vm', newFlavorId: 'medium' });
    expect(input).not.toHaveProperty('confirmWindowSeconds');
    expect(input).not.toHaveProperty('schedulerMaxAttempts');
  });
});
