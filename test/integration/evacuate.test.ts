/**
 * Evacuation on the sim driver: the real evacuate and hostHeartbeats workflows on this run's
 * Temporal server, the real control activities on SQLite, and the real host activities on sim
 * hosts whose instances dir is one shared directory. A host "dies" by its sim libvirtd stopping
 * (its domains stay, as a powered-off host's definitions do) and its agent's worker not running.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WorkflowFailedError } from '@temporalio/client';
import { createControlActivities } from '../../activities/control';
import { createHostActivities } from '../../activities/host';
import { liveMigrationSettings } from '../../activities/host/live-migration/settings';
import { startEvacuation } from '../../client/start-evacuation';
import { loadConfig } from '../../config';
import { openDatabase, type Database } from '../../db/database';
import { migrateDatabase } from '../../db/migrate';
import { recordMigration } from '../../db/record-migration';
import { DOMAIN_STATE } from '../../virt/libvirt/binding';
import { guestXml } from '../../virt/sim/domains';
import { SimFleet } from '../../virt/sim/fleet';
import type { EvacuateInput, EvacuationState } from '../../workflows/evacuate-contract';
import { instanceWorkflowId } from '../../workflows/operation-types';
import { scratchDatabase, type ScratchDatabase } from '../support/databases';
import { until } from '../support/lab-stack';
import { workflowHarness, type Harness } from '../support/workflow-harness';

const FLAVOR = { id: 'sim-evac', name: 'sim.evac', vcpus: 1, memoryMiB: 512, rootDiskGiB: 1 };
const config = loadConfig({ FERRY_REPORT_INTERVAL: '1' });

describe('evacuation on the sim driver', () => {
  let harness: Harness;
  let scratch: ScratchDatabase;
  let db: Database;
  let shared: string;

  beforeAll(async () => {
    harness = await workflowHarness();
    scratch = await scratchDatabase('sqlite');
    await migrateDatabase(scratch.url);
    db = await openDatabase(scratch.url);
    await db.flavor.create({ data: FLAVOR });
    shared = await mkdtemp(join(tmpdir(), 'ferry-evacuate-test-'));
  });

  afterAll(async () => {
    await db?.$disconnect();
    await scratch?.drop();
    await harness?.close();
    if (shared) await rm(shared, { recursive: true, force: true });
  });

  /** host1 runs an instance whose disk is in the shared instances dir; host2 is empty. */
  async function setUp(options: { diskSeen?: boolean } = {}) {
    const id = randomUUID().slice(0, 8);
    const [host1, host2] = [`evac1-${id}`, `evac2-${id}`];
    // The earlier cases' hosts have no agent now: out of the scheduler's way.
    await db.host.updateMany({ data: { state: 'disabled' } });
    const fleet = new SimFleet();
    for (const name of [host1, host2]) {
      fleet.addHost(name);
      await db.host.create({
        data: {
          name,
          libvirtUri: SimFleet.uri(name),
          instancesDir: shared,
          arch: 'x86_64',
          hypervisorType: 'QEMU',
          hypervisorVersion: 8_002_000,
          vcpusTotal: 8,
          memoryMiBTotal: 16 * 1024,
          diskGiBTotal: 100,
          lastHeartbeatAt: new Date(),
        },
      });
    }
    const guest = { uuid: randomUUID(), name: `vm-${id}`, memoryMiB: 512, vcpus: 1 };
    const disk = join(shared, guest.uuid, 'disk');
    if (options.diskSeen !== false) {
      await mkdir(join(shared, guest.uuid));
      await writeFile(disk, 'the guest wrote this\n');
    }
    fleet.define(host1, guest);
    const domainXml = guestXml(guest).replace(
      '  </devices>',
      `    <disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='${disk}'/><target dev='vda' bus='virtio'/></disk>\n  </devices>`,
    );
    await db.instance.create({
      data: {
        uuid: guest.uuid,
        name: guest.name,
        hostName: host1,
        flavorId: FLAVOR.id,
        domainXml,
      },
    });
    const workers = (agents: string[]) => ({
      hosts: agents,
      controlActivities: () => createControlActivities(db, config),
      hostActivities: (host: string) =>
        createHostActivities({
          hostName: host,
          hypervisor: fleet.hypervisor,
          libvirtUri: SimFleet.uri(host),
          instancesDir: shared,
          liveMigration: liveMigrationSettings(config),
          reportProgress: () => Promise.resolve(),
        }),
    });
    /**
     * host1 is down: its agent silent since long before service_down_time; with libvirt not
     * answering, the host died (its guest stopped); otherwise its guest still runs.
     */
    const host1Down = async (how: { forced?: boolean; libvirtAnswers: boolean }) => {
      await db.host.update({
        where: { name: host1 },
        data: { lastHeartbeatAt: new Date(Date.now() - 3_600_000), forcedDown: !!how.forced },
      });
      if (!how.libvirtAnswers) fleet.crash(host1);
    };
    /** Records the evacuation as the request layer does and runs its workflow to its end. */
    const evacuate = async (requestedHost: string | null = null) => {
      const instance = await db.instance.findUniqueOrThrow({ where: { uuid: guest.uuid } });
      const workflowId = instanceWorkflowId(instance.uuid);
      const migration = await recordMigration(db, {
        instance,
        migrationType: 'evacuation',
        workflowId,
      });
      const input: EvacuateInput = {
        migrationUuid: migration.uuid,
        instanceUuid: instance.uuid,
        instanceName: instance.name,
        sourceHost: host1,
        requestedHost,
        requestedBy: 'test',
      };
      const outcome = await harness.runWorkflow(
        workers([host2]),
        'evacuate',
        [input],
        workflowId,
        async (handle) => {
          try {
            return { state: (await handle.result()) as EvacuationState, error: null };
          } catch (error) {
            if (!(error instanceof WorkflowFailedError)) throw error;
            return { state: null, error: error.cause?.message ?? error.message };
          }
        },
      );
      return { ...outcome, migrationUuid: migration.uuid };
    };
    const migrationRow = (uuid: string) => db.migration.findUniqueOrThrow({ where: { uuid } });
    const instanceRow = () => db.instance.findUniqueOrThrow({ where: { uuid: guest.uuid } });
    const claims = (uuid: string) => db.resourceClaim.count({ where: { migration: { uuid } } });
    return {
      host1,
      host2,
      fleet,
      guest,
      disk,
      workers,
      host1Down,
      evacuate,
      migrationRow,
      instanceRow,
      claims,
    };
  }

  /** Nothing changed: the instance recorded on host1, nothing on host2, no claim. */
  async function expectLeftOnSource(sim: Awaited<ReturnType<typeof setUp>>, uuid: string) {
    expect(await sim.instanceRow()).toMatchObject({ hostName: sim.host1, taskState: null });
    expect(sim.fleet.find(sim.host2, sim.guest.uuid)).toBeUndefined();
    expect(await sim.claims(uuid)).toBe(0);
  }

  it('is refused with a 409 while the host is up, and nothing is recorded', async () => {
    const sim = await setUp();
    await expect(
      startEvacuation(db, harness.client, config, {
        instance: sim.guest.name,
        requestedBy: 'test',
      }),
    ).rejects.toMatchObject({ status: 409, type: 'ComputeServiceInUse' });
    expect(await db.migration.count({ where: { instanceUuid: sim.guest.uuid } })).toBe(0);
  });

  it('is refused while the host, down by its silent agent, still answers on libvirt', async () => {
    const sim = await setUp();
    await sim.host1Down({ libvirtAnswers: true });

    const { error, migrationUuid } = await sim.evacuate();

    expect(error).toMatch(/libvirt at sim:\/\/\/evac1-\S+ still answers .*Fence the host/);
    expect(await sim.migrationRow(migrationUuid)).toMatchObject({
      migrationType: 'evacuation',
      status: 'failed',
    });
    await expectLeftOnSource(sim, migrationUuid);
    expect(sim.fleet.find(sim.host1, sim.guest.uuid)?.state).toBe(DOMAIN_STATE.RUNNING);
  });

  it('is refused when the destination does not see the disks: ferry keeps no image', async () => {
    const sim = await setUp({ diskSeen: false });
    await sim.host1Down({ libvirtAnswers: false });

    const { error, migrationUuid } = await sim.evacuate(sim.host2);

    expect(error).toMatch(/disk .*\/disk is not there on evac2-.*ferry keeps no image/);
    await expectLeftOnSource(sim, migrationUuid);
  });

  it('defines and starts the instance on the destination from its recorded definition; the source, back, destroys its stale domain and stays disabled', async () => {
    const sim = await setUp();
    await sim.host1Down({ libvirtAnswers: false });

    const { state, error, migrationUuid } = await sim.evacuate();
    expect(error).toBeNull();

    expect(state).toMatchObject({ status: 'done', destHost: sim.host2 });
    const onDest = sim.fleet.find(sim.host2, sim.guest.uuid);
    expect(onDest).toMatchObject({ state: DOMAIN_STATE.RUNNING, persistent: true });
    expect(onDest?.xml).toContain(`<source file='${sim.disk}'/>`);
    expect(await sim.instanceRow()).toMatchObject({ hostName: sim.host2, taskState: null });
    expect(await sim.migrationRow(migrationUuid)).toMatchObject({
      status: 'done',
      sourceHost: sim.host1,
      destHost: sim.host2,
    });
    expect(await sim.claims(migrationUuid)).toBe(0);
    const action = await db.instanceAction.findUniqueOrThrow({
      where: { requestId: migrationUuid },
      include: { events: true },
    });
    expect(action.action).toBe('evacuate');
    expect(action.finishTime).not.toBeNull();
    expect(action.events.map((e) => [e.event, e.result])).toEqual(
      expect.arrayContaining([
        ['schedule', 'Success'],
        ['compute_rebuild_instance', 'Success'],
      ]),
    );
    const source = await db.host.findUniqueOrThrow({ where: { name: sim.host1 } });
    expect(source.state).toBe('disabled');

    // host1 comes back with its old definition of the instance.
    sim.fleet.startLibvirt(sim.host1);
    expect(sim.fleet.find(sim.host1, sim.guest.uuid)).toMatchObject({
      state: DOMAIN_STATE.SHUTOFF,
      persistent: true,
    });
    const id = randomUUID().slice(0, 8);
    await harness.runWorkflow(
      sim.workers([sim.host1, sim.host2]),
      'hostHeartbeats',
      [],
      `heartbeats-${id}`,
      async (handle) => {
        try {
          await until('host1 cleaned', 60_000, async () =>
            (await sim.migrationRow(migrationUuid)).status === 'completed' ? true : undefined,
          );
        } finally {
          await handle.terminate('test over');
        }
      },
    );
    expect(sim.fleet.hostsOf(sim.guest.uuid)).toEqual([sim.host2]);
    expect(sim.fleet.find(sim.host2, sim.guest.uuid)?.state).toBe(DOMAIN_STATE.RUNNING);
    expect((await db.host.findUniqueOrThrow({ where: { name: sim.host1 } })).state).toBe(
      'disabled',
    );
    expect(await sim.instanceRow()).toMatchObject({ hostName: sim.host2 });
  });

  it('forced down while its guest still runs: the start fails on the image lock, the evacuation fails, the instance stays on its source', async () => {
    const sim = await setUp();
    await sim.host1Down({ forced: true, libvirtAnswers: true });

    const { error, migrationUuid } = await sim.evacuate();

    expect(error).toMatch(/Failed to get "write" lock/);
    expect(await sim.migrationRow(migrationUuid)).toMatchObject({ status: 'failed' });
    await expectLeftOnSource(sim, migrationUuid);
    expect(sim.fleet.hostsOf(sim.guest.uuid)).toEqual([sim.host1]);
    expect((await db.host.findUniqueOrThrow({ where: { name: sim.host1 } })).state).toBe('up');
  });
});
