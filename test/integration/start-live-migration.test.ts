/**
 * The start helper on a real SQLite database and the real Temporal server: bad requests are
 * refused with the field and the reason, and leave neither a Migration row nor a workflow behind;
 * a second operation on the same instance is refused by the conflict policy.
 */
import { randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { openDatabase, type Database } from '../../db/database';
import { migrateDatabase } from '../../db/migrate';
import { startLiveMigration } from '../../client/start-live-migration';
import { RequestError } from '../../client/request-error';
import { instanceWorkflowId } from '../../workflows/operation-types';
import { scratchDatabase, type ScratchDatabase } from '../support/databases';

describe('startLiveMigration', () => {
  let scratch: ScratchDatabase;
  let db: Database;
  let client: Client;

  beforeAll(async () => {
    scratch = await scratchDatabase('sqlite');
    await migrateDatabase(scratch.url);
    db = await openDatabase(scratch.url);
    client = new Client({
      connection: await Connection.connect({
        address: process.env.FERRY_TEST_TEMPORAL_ADDRESS as string,
      }),
    });
    await db.host.createMany({
      data: ['src', 'dst'].map((name) => ({ name, libvirtUri: 'test:///default' })),
    });
    await db.flavor.create({
      data: { id: 'tiny', name: 'tiny', vcpus: 1, memoryMiB: 128, rootDiskGiB: 1 },
    });
  });

  afterAll(async () => {
    await client?.connection.close();
    await db?.$disconnect();
    await scratch?.drop();
  });

  async function newInstance(overrides: Record<string, unknown> = {}) {
    const uuid = randomUUID();
    return db.instance.create({
      data: {
        uuid,
        name: `vm-${uuid.slice(0, 8)}`,
        hostName: 'src',
        flavorId: 'tiny',
        ...overrides,
      },
    });
  }

  async function refusal(request: Parameters<typeof startLiveMigration>[2]) {
    const error = await startLiveMigration(db, client, request).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RequestError);
    return error as RequestError;
  }

  const cases: [string, Record<string, unknown>, { host?: string }, string, number, RegExp][] = [
    ['an unknown instance', {}, {}, 'InstanceNotFound', 404, /instance nope could not be found/],
    ['an unknown host', {}, { host: 'elsewhere' }, 'ComputeHostNotFound', 400, /elsewhere/],
    ['its own host', {}, { host: 'src' }, 'UnableToMigrateToSelf', 400, /its own host src/],
    [
      'a stopped instance',
      { powerState: 'shutdown', vmState: 'stopped' },
      {},
      'InstanceInvalidState',
      409,
      /stopped\/shutdown/,
    ],
    [
      'a busy instance',
      { taskState: 'resize_prep' },
      {},
      'InstanceInvalidState',
      409,
      /task_state resize_prep/,
    ],
    ['a locked instance', { locked: true }, {}, 'InstanceLocked', 409, /is locked/],
  ];
  it.each(cases)(
    'refuses %s and leaves nothing behind',
    async (_what, state, options, type, status, message) => {
      const vm = await newInstance(state);
      const name = type === 'InstanceNotFound' ? 'nope' : vm.name;
      const error = await refusal({
        instance: name,
        blockMigration: 'auto',
        requestedBy: 'test',
        ...options,
      });
      expect(error).toMatchObject({ type, status });
      expect(error.message).toMatch(message);
      expect(await db.migration.count({ where: { instanceUuid: vm.uuid } })).toBe(0);
      const described = await client.workflow
        .getHandle(instanceWorkflowId(vm.uuid))
        .describe()
        .catch(() => 'not found');
      expect(described).toBe('not found');
    },
  );

  it('refuses a second operation on the same instance while the first runs', async () => {
    const vm = await newInstance();
    const first = await startLiveMigration(db, client, {
      instance: vm.name,
      blockMigration: 'auto',
      requestedBy: 'test',
    });
    try {
      expect(first.workflowId).toBe(instanceWorkflowId(vm.uuid));
      const error = await refusal({
        instance: vm.uuid,
        blockMigration: 'auto',
        requestedBy: 'test',
      });
      expect(error).toMatchObject({ type: 'InstanceInvalidState', status: 409 });
      expect(error.message).toMatch(/has an operation in progress/);
      const migrations = await db.migration.findMany({ where: { instanceUuid: vm.uuid } });
      expect(migrations).toEqual([
        expect.objectContaining({
          uuid: first.migrationUuid,
          status: 'accepted',
          sourceHost: 'src',
        }),
      ]);
    } finally {
      await client.workflow.getHandle(first.workflowId).terminate('test over');
    }
  });

  it('keeps the Migration row when the start failed on the way back but the workflow started', async () => {
    const vm = await newInstance();
    // MOCK at one step: the real start reaches the server, then the answer is lost.
    const lossy = Object.create(client) as Client;
    Object.defineProperty(lossy, 'workflow', {
      value: Object.assign(Object.create(client.workflow), {
        start: async (...args: Parameters<Client['workflow']['start']>) => {
          await client.workflow.start(...args);
          throw new Error('14 UNAVAILABLE: connection reset (injected)');
        },
      }),
    });
    const started = await startLiveMigration(db, lossy, {
      instance: vm.name,
      blockMigration: 'auto',
      requestedBy: 'test',
    });
    try {
      const row = await db.migration.findUnique({ where: { uuid: started.migrationUuid } });
      expect(row).toMatchObject({ status: 'accepted', workflowId: instanceWorkflowId(vm.uuid) });
      const { memo } = await client.workflow.getHandle(started.workflowId).describe();
      expect(memo).toEqual({ migrationUuid: started.migrationUuid });
    } finally {
      await client.workflow.getHandle(started.workflowId).terminate('test over');
    }
  });
});
