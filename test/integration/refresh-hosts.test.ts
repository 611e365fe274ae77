import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { randomUUID } from 'node:crypto';
import { createControlActivities } from '../../activities/control';
import { openDatabase, type Database } from '../../db/database';
import { migrateDatabase } from '../../db/migrate';
import { createHostActivities, type HostAgentContext } from '../../activities/host';
import { liveMigrationSettings } from '../../activities/host/live-migration/settings';
import { loadConfig } from '../../config';
import type { refreshHosts } from '../../workflows';
import { FERRY_SEARCH_ATTRIBUTES } from '../../workflows/search-attributes';
import { hostTaskQueue } from '../../workflows/task-queues';
import { scratchDatabase, type ScratchDatabase } from '../support/databases';
import { libvirtHypervisor } from '../../virt/libvirt/hypervisor';

/** A host agent's context for a host known only by its libvirt URI. */
function agentContext(
  hostName: string,
  libvirtUri: string,
  instancesDir = '/var/lib/ferry/instances',
): HostAgentContext {
  return {
    hostName,
    hypervisor: libvirtHypervisor,
    libvirtUri,
    instancesDir,
    liveMigration: liveMigrationSettings(loadConfig({})),
    reportProgress: async () => undefined,
  };
}

/**
 * The walking skeleton on real parts: the Temporal dev server of this run, a SQLite database, and
 * libvirt's own test driver behind a host agent listening on that host's queue.
 */
describe('refreshHosts on a real Temporal server', () => {
  const address = process.env.FERRY_TEST_TEMPORAL_ADDRESS as string;
  const controlQueue = `ferry-test-${randomUUID()}`;
  let scratch: ScratchDatabase;
  let db: Database;
  let connection: NativeConnection;
  let client: Client;

  beforeAll(async () => {
    scratch = await scratchDatabase('sqlite');
    await migrateDatabase(scratch.url);
    db = await openDatabase(scratch.url);
    connection = await NativeConnection.connect({ address });
    client = new Client({ connection: await Connection.connect({ address }) });
  });

  afterAll(async () => {
    await client?.connection.close();
    await connection?.close();
    await db?.$disconnect();
    await scratch?.drop();
  });

  it('has ferry search attributes registered as Keyword', async () => {
    const { customAttributes } = await client.connection.operatorService.listSearchAttributes({
      namespace: 'default',
    });
    for (const key of FERRY_SEARCH_ATTRIBUTES) {
      expect(customAttributes?.[key.name]).toBe(2); // INDEXED_VALUE_TYPE_KEYWORD
    }
  });

  it("records each host's hypervisor, and names a host whose libvirt does not answer or whose agent has another instances dir", async () => {
    const good = `good-${randomUUID().slice(0, 8)}`;
    const broken = `broken-${randomUUID().slice(0, 8)}`;
    const elsewhere = `elsewhere-${randomUUID().slice(0, 8)}`;
    await db.host.create({ data: { name: good, libvirtUri: 'test:///default' } });
    await db.host.create({ data: { name: elsewhere, libvirtUri: 'test:///default' } });
    const brokenUri = 'qemu+unix:///system?socket=/nonexistent/libvirt-sock';
    await db.host.create({ data: { name: broken, libvirtUri: brokenUri } });

    const workers = await Promise.all([
      Worker.create({
        connection,
        taskQueue: controlQueue,
        workflowsPath: require.resolve('../../workflows'),
        activities: createControlActivities(db, loadConfig({})),
      }),
      Worker.create({
        connection,
        taskQueue: hostTaskQueue(good),
        activities: createHostActivities(agentContext(good, 'test:///default')),
      }),
      Worker.create({
        connection,
        taskQueue: hostTaskQueue(broken),
        activities: createHostActivities(agentContext(broken, brokenUri)),
      }),
      Worker.create({
        connection,
        taskQueue: hostTaskQueue(elsewhere),
        activities: createHostActivities(agentContext(elsewhere, 'test:///default', '/srv/vms')),
      }),
    ]);
    const [control, ...agents] = workers;
    const agentRuns = agents.map((agent) => agent.run());
    const result = await control
      .runUntil(
        client.workflow.execute<typeof refreshHosts>('refreshHosts', {
          taskQueue: controlQueue,
          workflowId: `refresh-${randomUUID()}`,
        }),
      )
      .finally(async () => {
        agents.forEach((agent) => agent.shutdown());
        await Promise.all(agentRuns);
      });

    expect(result.refreshed).toEqual([
      {
        host: good,
        arch: 'i686',
        hypervisorType: 'TEST',
        hypervisorVersion: expect.any(Number),
        cpuModel: expect.any(String),
        vcpus: 16,
        memoryMiB: expect.any(Number),
        instancesDir: '/var/lib/ferry/instances',
      },
    ]);
    expect(result.failed).toEqual(
      expect.arrayContaining([
        { host: broken, error: expect.stringMatching(/nonexistent/) },
        {
          host: elsewhere,
          error:
            `host ${elsewhere}: its agent's instances dir is /srv/vms, its Host row's ` +
            '/var/lib/ferry/instances; set FERRY_INSTANCES_DIR or the row to match',
        },
      ]),
    );
    expect(result.failed).toHaveLength(2);
    expect((await db.host.findUniqueOrThrow({ where: { name: elsewhere } })).arch).toBeNull();
    const row = await db.host.findUniqueOrThrow({ where: { name: good } });
    expect(row).toMatchObject({ arch: 'i686', hypervisorType: 'TEST', vcpusTotal: 16 });
    expect(row.lastHeartbeatAt).not.toBeNull();
    expect((await db.host.findUniqueOrThrow({ where: { name: broken } })).arch).toBeNull();
  });
});
