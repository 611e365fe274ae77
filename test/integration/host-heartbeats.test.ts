/**
 * The hostHeartbeats workflow on the run's real Temporal server with the real control activities
 * on SQLite and the real host activities on sim hosts: an agent that answers keeps its host up, a
 * host without an agent is down, a forced-down host is down whatever its agent answers.
 */
import { randomUUID } from 'node:crypto';
import { createControlActivities } from '../../activities/control';
import { createHostActivities } from '../../activities/host';
import { liveMigrationSettings } from '../../activities/host/live-migration/settings';
import { loadConfig } from '../../config';
import { openDatabase, type Database } from '../../db/database';
import { hostLiveness } from '../../db/host-liveness';
import { migrateDatabase } from '../../db/migrate';
import { SimFleet } from '../../virt/sim/fleet';
import { scratchDatabase, type ScratchDatabase } from '../support/databases';
import { until } from '../support/lab-stack';
import { workflowHarness, type Harness } from '../support/workflow-harness';

describe('host heartbeats', () => {
  let harness: Harness;
  let scratch: ScratchDatabase;
  let db: Database;

  beforeAll(async () => {
    harness = await workflowHarness();
    scratch = await scratchDatabase('sqlite');
    await migrateDatabase(scratch.url);
    db = await openDatabase(scratch.url);
  });

  afterAll(async () => {
    await db?.$disconnect();
    await scratch?.drop();
    await harness?.close();
  });

  it('records the hosts whose agents answer, round after round; the silent one stays down', async () => {
    const id = randomUUID().slice(0, 8);
    const [alive, fenced, silent] = ['alive', 'fenced', 'silent'].map((n) => `${n}-${id}`);
    const fleet = new SimFleet();
    for (const name of [alive, fenced, silent]) {
      fleet.addHost(name);
      await db.host.create({
        data: { name, libvirtUri: SimFleet.uri(name), forcedDown: name === fenced },
      });
    }
    const config = loadConfig({ FERRY_REPORT_INTERVAL: '1' });
    const workers = {
      hosts: [alive, fenced],
      controlActivities: () => createControlActivities(db, config),
      hostActivities: (host: string) =>
        createHostActivities({
          hostName: host,
          hypervisor: fleet.hypervisor,
          libvirtUri: SimFleet.uri(host),
          instancesDir: '/nonexistent',
          liveMigration: liveMigrationSettings(config),
          reportProgress: () => Promise.resolve(),
        }),
    };
    const row = (name: string) => db.host.findUniqueOrThrow({ where: { name } });

    await harness.runWorkflow(workers, 'hostHeartbeats', [], `heartbeats-${id}`, async (handle) => {
      try {
        const first = await until(
          'the first heartbeat of alive',
          60_000,
          async () => (await row(alive)).lastHeartbeatAt ?? undefined,
        );
        // A later round records a later heartbeat: the workflow keeps asking.
        await until('a second round', 60_000, async () =>
          ((await row(alive)).lastHeartbeatAt?.getTime() ?? 0) > first.getTime() ? true : undefined,
        );
      } finally {
        await handle.terminate('test over');
      }
    });

    const now = new Date();
    const serviceDownTime = config.serviceDownTimeSeconds;
    expect(hostLiveness(await row(alive), now, serviceDownTime)).toBe('up');
    // Its agent answers, but the operator's word stands.
    expect((await row(fenced)).lastHeartbeatAt).not.toBeNull();
    expect(hostLiveness(await row(fenced), now, serviceDownTime)).toBe('down');
    expect(await row(silent)).toMatchObject({ lastHeartbeatAt: null });
    expect(hostLiveness(await row(silent), now, serviceDownTime)).toBe('down');
  });
});
