/**
 * hostDrain and hostDrainPlan with the real control activities on a real Temporal server and a
 * SQLite database, on a host whose instances all stay (locked, busy, excluded): no host agent is
 * needed. The dry run changes nothing; the drain disables the host and ends incomplete with each
 * reason in the workflow's result and in the database; the return enables the host again.
 */
import { randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { createControlActivities } from '../../activities/control';
import { loadConfig } from '../../config';
import { showDrain } from '../../client/drain';
import { openDatabase, type Database } from '../../db/database';
import { migrateDatabase } from '../../db/migrate';
import type { DrainInput, DrainItem, DrainState } from '../../workflows/drain-contract';
import { scratchDatabase, type ScratchDatabase } from '../support/databases';

describe('hostDrain on the real control activities', () => {
  const address = process.env.FERRY_TEST_TEMPORAL_ADDRESS as string;
  const taskQueue = `ferry-drain-test-${randomUUID()}`;
  const host = `drained-${randomUUID().slice(0, 8)}`;
  let scratch: ScratchDatabase;
  let db: Database;
  let connection: NativeConnection;
  let client: Client;
  let worker: Worker;

  beforeAll(async () => {
    scratch = await scratchDatabase('sqlite');
    await migrateDatabase(scratch.url);
    db = await openDatabase(scratch.url);
    connection = await NativeConnection.connect({ address });
    client = new Client({ connection: await Connection.connect({ address }) });
    worker = await Worker.create({
      connection,
      taskQueue,
      workflowsPath: require.resolve('../../workflows'),
      activities: createControlActivities(db, {
        ...loadConfig({}),
        maxConcurrentLiveMigrations: 2,
        schedulerMaxAttempts: 3,
        shutdownTimeoutSeconds: 30,
      }),
    });
    await db.host.create({ data: { name: host, libvirtUri: 'test:///default' } });
    await db.host.create({ data: { name: `${host}-b`, libvirtUri: 'test:///default' } });
    await db.flavor.create({
      data: { id: 'f1', name: 'f1', vcpus: 1, memoryMiB: 256, rootDiskGiB: 1 },
    });
    for (const [name, state] of [
      ['keep', {}],
      ['locked', { locked: true }],
      ['busy', { taskState: 'migrating' }],
    ] as const) {
      await db.instance.create({
        data: { uuid: randomUUID(), name, hostName: host, flavorId: 'f1', ...state },
      });
    }
  });

  afterAll(async () => {
    await client?.connection.close();
    await connection?.close();
    await db?.$disconnect();
    await scratch?.drop();
  });

  const run = <T>(type: string, args: unknown[], workflowId: string) =>
    client.workflow.execute(type, { taskQueue, workflowId, args }) as Promise<T>;

  const input = (kind: 'drain' | 'return'): DrainInput => ({
    drainUuid: randomUUID(),
    host,
    kind,
    concurrency: null,
    attempts: 3,
    deadline: null,
    exclude: kind === 'drain' ? ['keep'] : [],
    requestedBy: 'test',
  });

  it('plans without changing anything, drains to incomplete with reasons, and returns', () =>
    worker.runUntil(async () => {
      const plan = await run<DrainItem[]>(
        'hostDrainPlan',
        [{ host, exclude: ['keep'] }],
        `drain-plan-${randomUUID()}`,
      );
      expect(plan.map((item) => [item.instanceName, item.action, item.reason])).toEqual([
        [
          'busy',
          'none',
          'instance busy is in task_state migrating: another operation is in progress',
        ],
        ['keep', 'none', 'excluded'],
        ['locked', 'none', 'instance locked is locked'],
      ]);
      expect(await db.host.findUniqueOrThrow({ where: { name: host } })).toMatchObject({
        state: 'up',
      });
      expect(await db.drain.count()).toBe(0);

      const drain = input('drain');
      const state = await run<DrainState>('hostDrain', [drain], `drain-${host}`);
      expect(state).toMatchObject({ status: 'incomplete', concurrency: 2, runs: 1 });
      expect(state.items.every((item) => item.state === 'left')).toBe(true);
      expect(await db.host.findUniqueOrThrow({ where: { name: host } })).toMatchObject({
        state: 'disabled',
        disabledReason: 'draining',
      });
      const row = await db.drain.findUniqueOrThrow({
        where: { uuid: drain.drainUuid },
        include: { items: { orderBy: { instanceName: 'asc' } } },
      });
      expect(row.status).toBe('incomplete');
      expect(row.finishedAt).not.toBeNull();
      expect(row.items.map((item) => [item.instanceName, item.state, item.reason])).toEqual(
        plan.map((item) => [item.instanceName, 'left', item.reason]),
      );
      expect(await db.migration.count()).toBe(0);

      const back = input('return');
      const returned = await run<DrainState>('hostDrain', [back], `drain-${host}`);
      expect(returned).toMatchObject({ status: 'completed', kind: 'return', items: [] });
      expect(await db.host.findUniqueOrThrow({ where: { name: host } })).toMatchObject({
        state: 'up',
        disabledReason: null,
      });
      expect(
        (await db.drain.findUniqueOrThrow({ where: { uuid: drain.drainUuid } })).returnedAt,
      ).not.toBeNull();
    }));

  it('records a drain whose workflow is gone as aborted, so it blocks nothing', async () => {
    const orphan = await db.drain.create({
      data: {
        uuid: randomUUID(),
        host,
        status: 'running',
        concurrency: 1,
        attempts: 3,
        workflowId: `drain-never-started-${randomUUID()}`,
      },
    });
    const shown = await showDrain(db, client, String(orphan.id));
    expect(shown.status).toBe('aborted');
    expect(await db.drain.findUniqueOrThrow({ where: { id: orphan.id } })).toMatchObject({
      status: 'aborted',
      finishedAt: expect.any(Date) as unknown,
    });
  });
});
