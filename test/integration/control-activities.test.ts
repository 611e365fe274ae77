import { randomUUID } from 'node:crypto';
import { createControlActivities } from '../../activities/control';
import { openDatabase, type Database } from '../../db/database';
import { migrateDatabase } from '../../db/migrate';
import { loadConfig } from '../../config';
import { saveMigrationProgress } from '../../activities/control/migration-progress';
import type { MigrationProgress, MigrationResult } from '../../workflows/live-migration-contract';
import type { ActionEventRecord } from '../../workflows/operation-types';
import { scratchDatabase, type ScratchDatabase } from '../support/databases';

const GiB = 2 ** 30;

/** The control worker's settings as shipped (fleet cap 5, one live migration per source). */
const DEFAULTS = loadConfig({});

const progress: MigrationProgress = {
  memoryTotalBytes: 2 * GiB,
  memoryProcessedBytes: 1.5 * GiB,
  memoryRemainingBytes: 0.5 * GiB,
  diskTotalBytes: 10 * GiB,
  diskProcessedBytes: 4 * GiB,
  diskRemainingBytes: 6 * GiB,
  percent: 66.6,
  postCopy: false,
};

const result: MigrationResult = {
  attached: false,
  elapsedMs: 5000,
  downtimeMs: 40,
  forced: null,
  progress: {
    ...progress,
    memoryProcessedBytes: 2 * GiB,
    memoryRemainingBytes: 0,
    diskProcessedBytes: 10 * GiB,
    diskRemainingBytes: 0,
    percent: 100,
  },
};

/** A failure as a workflow sees it: its type, its message, and whether it may be retried. */
function failure(type: string, message: string | RegExp) {
  return {
    type,
    message: typeof message === 'string' ? message : expect.stringMatching(message),
    nonRetryable: true,
  };
}

describe.each(['sqlite', 'postgresql'] as const)(
  'migration control activities on %s',
  (provider) => {
    let scratch: ScratchDatabase;
    let db: Database;
    let control: ReturnType<typeof createControlActivities>;

    beforeAll(async () => {
      scratch = await scratchDatabase(provider);
      await migrateDatabase(scratch.url);
      db = await openDatabase(scratch.url);
      control = createControlActivities(db, DEFAULTS);
    });

    afterAll(async () => {
      await db?.$disconnect();
      await scratch?.drop();
    });

    /** host1 (source, runs demo), host2 (8 GiB), host3 (16 GiB), host4 (disabled), flavor 2 vCPU / 2 GiB / 10 GiB. */
    beforeEach(async () => {
      await db.instanceActionEvent.deleteMany();
      await db.instanceAction.deleteMany();
      await db.resourceClaim.deleteMany();
      await db.migration.deleteMany();
      await db.instance.deleteMany();
      await db.flavor.deleteMany();
      await db.host.deleteMany();
      const hypervisor = {
        arch: 'x86_64',
        hypervisorType: 'QEMU',
        hypervisorVersion: 8_002_000,
        vcpusTotal: 4,
        diskGiBTotal: 100,
      };
      await db.host.createMany({
        data: [
          {
            name: 'host1',
            libvirtUri: 'qemu+tcp://10.0.0.1/system',
            memoryMiBTotal: 16_384,
            ...hypervisor,
          },
          {
            name: 'host2',
            libvirtUri: 'qemu+tcp://10.0.0.2/system',
            memoryMiBTotal: 8192,
            ...hypervisor,
          },
          {
            name: 'host3',
            libvirtUri: 'qemu+tcp://10.0.0.3/system',
            memoryMiBTotal: 16_384,
            ...hypervisor,
          },
          {
            name: 'host4',
            libvirtUri: 'qemu+tcp://10.0.0.4/system',
            memoryMiBTotal: 65_536,
            state: 'disabled',
            disabledReason: 'maintenance',
            ...hypervisor,
          },
        ],
      });
      await db.flavor.create({
        data: { id: 'small', name: 'small', vcpus: 2, memoryMiB: 2048, rootDiskGiB: 10 },
      });
      await addInstance('demo', 'host1');
    });

    async function addInstance(
      name: string,
      hostName: string,
      flavorId = 'small',
    ): Promise<string> {
      const uuid = randomUUID();
      await db.instance.create({ data: { uuid, name, hostName, flavorId } });
      return uuid;
    }

    /** The Migration row as the start helper records it. */
    async function acceptMigration(
      instanceName = 'demo',
      status = 'accepted',
      migrationType = 'live-migration',
    ): Promise<string> {
      const instance = await db.instance.findUniqueOrThrow({ where: { name: instanceName } });
      const uuid = randomUUID();
      await db.migration.create({
        data: {
          uuid,
          instanceUuid: instance.uuid,
          migrationType,
          status,
          sourceHost: instance.hostName,
          oldFlavorId: instance.flavorId,
          newFlavorId: instance.flavorId,
          workflowId: `instance-${instance.uuid}`,
        },
      });
      return uuid;
    }

    async function begin(migrationUuid: string) {
      return control.beginInstanceOperation({
        migrationUuid,
        taskState: 'migrating',
        action: 'live-migration',
        requestedBy: 'admin:alice',
      });
    }

    const instance = (name = 'demo') => db.instance.findUniqueOrThrow({ where: { name } });
    const migrationRow = (uuid: string) => db.migration.findUniqueOrThrow({ where: { uuid } });
    const claimsOf = (uuid: string) =>
      db.resourceClaim.findMany({ where: { migration: { uuid } }, orderBy: { hostName: 'asc' } });
    const actionOf = (uuid: string) =>
      db.instanceAction.findUniqueOrThrow({
        where: { requestId: uuid },
        include: { events: true },
      });

    /**
     * Runs `work` with the database as a second control worker sees it: its own client on
     * PostgreSQL. On SQLite a second client in this process would wait for the write lock
     * synchronously (libsql blocks the event loop) and so stall the first one's commit; ferry runs
     * one client per process, and that client's transactions take turns.
     */
    async function withSecondWorker(work: (second: Database) => Promise<void>): Promise<void> {
      if (provider === 'sqlite') return work(db);
      const second = await openDatabase(scratch.url);
      try {
        await work(second);
      } finally {
        await second.$disconnect();
      }
    }

    describe('beginInstanceOperation', () => {
      it('sets task_state, opens the action and returns the instance; a retry does it once', async () => {
        const uuid = await acceptMigration();
        const expected = {
          name: 'demo',
          hostName: 'host1',
          flavorId: 'small',
          size: { vcpus: 2, memoryMiB: 2048, rootDiskGiB: 10 },
        };
        expect(await begin(uuid)).toMatchObject({ uuid: (await instance()).uuid, ...expected });
        expect(await begin(uuid)).toMatchObject(expected);

        expect(await instance()).toMatchObject({ taskState: 'migrating', vmState: 'active' });
        const actions = await db.instanceAction.findMany();
        expect(actions).toHaveLength(1);
        expect(actions[0]).toMatchObject({
          requestId: uuid,
          action: 'live-migration',
          userId: 'admin:alice',
          finishTime: null,
        });
      });

      it.each([
        ['locked', { locked: true }, 'InstanceLocked', 'instance demo is locked'],
        [
          'busy',
          { taskState: 'resize_prep' },
          'InstanceInvalidState',
          'instance demo is in task_state resize_prep: another operation is running',
        ],
        [
          'in error',
          { vmState: 'error' },
          'InstanceInvalidState',
          'instance demo is in vm_state error, not active',
        ],
        [
          'shut down',
          { vmState: 'stopped', powerState: 'shutdown' },
          'InstanceInvalidState',
          'instance demo is in vm_state stopped, not active',
        ],
        [
          'paused',
          { powerState: 'paused' },
          'InstanceInvalidState',
          'instance demo is in power_state paused, not running',
        ],
        [
          'elsewhere',
          { hostName: 'host2' },
          'InstanceInvalidState',
          'instance demo is on host host2, not on host1',
        ],
      ])(
        'refuses an instance that is %s and leaves it as it was',
        async (_, state, type, message) => {
          const uuid = await acceptMigration();
          await db.instance.update({ where: { name: 'demo' }, data: state });
          const before = await instance();
          await expect(begin(uuid)).rejects.toMatchObject(failure(type, message));
          expect(await instance()).toEqual(before);
          expect(await db.instanceAction.count()).toBe(0);
        },
      );

      it('refuses while another migration of the instance holds it, and a finished migration', async () => {
        const first = await acceptMigration();
        await begin(first);
        const second = await acceptMigration();
        await expect(begin(second)).rejects.toMatchObject(
          failure(
            'InstanceInvalidState',
            'instance demo is in task_state migrating: another operation is running',
          ),
        );
        const ended = await acceptMigration('demo', 'failed');
        await expect(begin(ended)).rejects.toMatchObject(
          failure('MigrationError', `migration ${ended} already ended as failed`),
        );
        await expect(begin('no-such-migration')).rejects.toMatchObject(
          failure('MigrationError', 'migration no-such-migration is not recorded'),
        );
        expect((await db.instanceAction.findMany()).map((action) => action.requestId)).toEqual([
          first,
        ]);
      });
    });

    describe('recordActionEvent', () => {
      it("records each step's start once, then its finish, result and details", async () => {
        const uuid = await acceptMigration();
        await begin(uuid);
        const event = 'compute_check_can_live_migrate_source';
        await control.recordActionEvent({ migrationUuid: uuid, event, phase: 'start' });
        const [started] = (await actionOf(uuid)).events;
        await control.recordActionEvent({ migrationUuid: uuid, event, phase: 'start' });
        expect((await actionOf(uuid)).events).toEqual([
          { ...started, finishTime: null, result: null },
        ]);

        await control.recordActionEvent({
          migrationUuid: uuid,
          event,
          phase: 'finish',
          result: 'Error',
          details: 'domain is not running',
        });
        await control.recordActionEvent({
          migrationUuid: uuid,
          event: 'compute_live_migration',
          phase: 'finish',
          result: 'Success',
        });
        // A start recorded again (a retried step) leaves the finished event as it is.
        await control.recordActionEvent({ migrationUuid: uuid, event, phase: 'start' });
        const events = (await actionOf(uuid)).events.sort((a, b) => a.id - b.id);
        expect(events).toEqual([
          expect.objectContaining({
            event,
            startTime: started.startTime,
            result: 'Error',
            details: 'domain is not running',
          }),
          expect.objectContaining({
            event: 'compute_live_migration',
            result: 'Success',
            details: null,
          }),
        ]);
        expect(events.every((row) => row.finishTime instanceof Date)).toBe(true);
      });

      it("records a step's finish and the next one's start together, with a status or alone", async () => {
        const uuid = await acceptMigration();
        await begin(uuid);
        const [check, prepare, migrate] = [
          'compute_check_can_live_migrate_destination:h1',
          'compute_pre_live_migration',
          'compute_live_migration',
        ];
        await control.recordActionEvents([{ migrationUuid: uuid, event: check, phase: 'start' }]);
        await control.setMigrationStatus({
          migrationUuid: uuid,
          status: 'queued',
          events: [{ migrationUuid: uuid, event: check, phase: 'finish', result: 'Success' }],
        });
        await control.recordActionEvents([{ migrationUuid: uuid, event: prepare, phase: 'start' }]);
        await control.setMigrationStatus({
          migrationUuid: uuid,
          status: 'running',
          events: [
            { migrationUuid: uuid, event: prepare, phase: 'finish', result: 'Success' },
            { migrationUuid: uuid, event: migrate, phase: 'start' },
          ],
        });
        expect((await db.migration.findUniqueOrThrow({ where: { uuid } })).status).toBe('running');
        const events = (await actionOf(uuid)).events.sort((a, b) => a.id - b.id);
        expect(events).toEqual([
          expect.objectContaining({
            event: check,
            result: 'Success',
            finishTime: expect.any(Date),
          }),
          expect.objectContaining({
            event: prepare,
            result: 'Success',
            finishTime: expect.any(Date),
          }),
          expect.objectContaining({ event: migrate, result: null, finishTime: null }),
        ]);
      });

      it('records an event started and finished in the same call, in order', async () => {
        const uuid = await acceptMigration();
        await begin(uuid);
        const [probe, prepare] = ['compute_check_shared_storage', 'compute_pre_live_migration'];
        await control.recordActionEvents([
          { migrationUuid: uuid, event: probe, phase: 'start' },
          { migrationUuid: uuid, event: probe, phase: 'finish', result: 'Success' },
          { migrationUuid: uuid, event: prepare, phase: 'start' },
          { migrationUuid: uuid, event: probe, phase: 'start' },
        ]);
        const events = (await actionOf(uuid)).events.sort((a, b) => a.id - b.id);
        expect(events).toEqual([
          expect.objectContaining({
            event: probe,
            result: 'Success',
            finishTime: expect.any(Date),
          }),
          expect.objectContaining({ event: prepare, result: null, finishTime: null }),
        ]);
      });

      it('refuses a migration whose operation has not begun', async () => {
        const uuid = await acceptMigration();
        await expect(
          control.recordActionEvent({ migrationUuid: uuid, event: 'x', phase: 'start' }),
        ).rejects.toMatchObject(
          failure(
            'MigrationError',
            `migration ${uuid} has no instance action: its operation has not begun`,
          ),
        );
      });
    });

    describe('setMigrationStatus', () => {
      it('sets the status and destination, and a finished status with its error and time', async () => {
        const uuid = await acceptMigration();
        await control.setMigrationStatus({
          migrationUuid: uuid,
          status: 'queued',
          destHost: 'host2',
        });
        expect(await migrationRow(uuid)).toMatchObject({
          status: 'queued',
          destHost: 'host2',
          finishedAt: null,
        });

        await control.setMigrationStatus({
          migrationUuid: uuid,
          status: 'error',
          error: 'instance demo is locked',
        });
        const ended = await migrationRow(uuid);
        expect(ended).toMatchObject({
          status: 'error',
          destHost: 'host2',
          error: 'instance demo is locked',
        });
        expect(ended.finishedAt).toBeInstanceOf(Date);
        expect(await instance()).toMatchObject({ taskState: null, vmState: 'active' });
      });

      it('keeps the outcome of a finished migration', async () => {
        const uuid = await acceptMigration();
        await control.setMigrationStatus({ migrationUuid: uuid, status: 'cancelled' });
        await control.setMigrationStatus({ migrationUuid: uuid, status: 'cancelled' });
        await expect(
          control.setMigrationStatus({ migrationUuid: uuid, status: 'running' }),
        ).rejects.toMatchObject(
          failure(
            'MigrationError',
            `migration ${uuid} already ended as cancelled: it cannot become running`,
          ),
        );
        expect((await migrationRow(uuid)).status).toBe('cancelled');
      });
    });

    describe('describeHost', () => {
      it("returns a host's libvirt URI, and NoValidHost for a host not registered", async () => {
        expect(await control.describeHost({ host: 'host2' })).toMatchObject({
          name: 'host2',
          libvirtUri: 'qemu+tcp://10.0.0.2/system',
          sshPort: 22,
        });
        await expect(control.describeHost({ host: 'nohost' })).rejects.toMatchObject(
          failure('NoValidHost', 'host nohost is not registered'),
        );
      });
    });

    describe('selectDestinations', () => {
      it('returns the hosts that pass every filter, most free memory first', async () => {
        const uuid = await acceptMigration();
        const select = (exclude: string[] = []) =>
          control.selectDestinations({ migrationUuid: uuid, requestedHost: null, exclude });
        expect(await select()).toEqual(['host3', 'host2']);

        // 7 GiB of instances on host3 and a 2 GiB claim for an instance elsewhere: 7 GiB free.
        await db.flavor.create({
          data: { id: 'big', name: 'big', vcpus: 1, memoryMiB: 7168, rootDiskGiB: 1 },
        });
        await addInstance('resident', 'host3', 'big');
        await addInstance('other', 'host1');
        const incoming = await acceptMigration('other');
        await control.claimResources({ migrationUuid: incoming, host: 'host3' });
        expect(await select()).toEqual(['host2', 'host3']);
        expect(await select(['host2'])).toEqual(['host3']);

        // The migration's own claim is not counted against the host it is on.
        await control.claimResources({ migrationUuid: uuid, host: 'host2' });
        expect(await select()).toEqual(['host2', 'host3']);
      });

      it('leaves out incompatible and full hosts, and names each refusal when none is left', async () => {
        const uuid = await acceptMigration();
        await db.host.update({ where: { name: 'host2' }, data: { hypervisorVersion: 7_000_000 } });
        await db.host.update({ where: { name: 'host3' }, data: { memoryMiBTotal: 1024 } });
        await db.host.create({
          data: { name: 'host5', libvirtUri: 'qemu+tcp://10.0.0.5/system', arch: 'aarch64' },
        });
        await db.host.create({
          data: { name: 'host6', libvirtUri: 'qemu+tcp://10.0.0.6/system', state: 'down' },
        });
        await expect(
          control.selectDestinations({ migrationUuid: uuid, requestedHost: null, exclude: [] }),
        ).rejects.toMatchObject(
          failure(
            'NoValidHost',
            'no valid host for instance demo: ' +
              'host1 (IgnoreHostsFilter: it is the source host), ' +
              "host2 (HypervisorCompatibilityFilter: hypervisor version 7000000 is older than the source's 8002000), " +
              'host3 (RamFilter: not enough memory: needs 2048 MiB, 1024 MiB free), ' +
              'host4 (ComputeFilter: host is disabled (maintenance)), ' +
              "host5 (HypervisorCompatibilityFilter: arch aarch64, the source's is x86_64), " +
              'host6 (ComputeFilter: host is down)',
          ),
        );
        await db.host.create({ data: { name: 'host7', libvirtUri: 'qemu+tcp://10.0.0.7/system' } });
        expect(
          await control.selectDestinations({
            migrationUuid: uuid,
            requestedHost: null,
            exclude: [],
          }),
        ).toEqual(['host7']);
      });

      it('checks a requested host alone', async () => {
        const uuid = await acceptMigration();
        const requested = (host: string) =>
          control.selectDestinations({ migrationUuid: uuid, requestedHost: host, exclude: [] });
        expect(await requested('host2')).toEqual(['host2']);
        await expect(requested('host1')).rejects.toMatchObject(
          failure('UnableToMigrateToSelf', 'unable to migrate instance demo to its own host host1'),
        );
        await expect(requested('host9')).rejects.toMatchObject(
          failure('NoValidHost', 'host host9 is not registered'),
        );
        await expect(requested('host4')).rejects.toMatchObject(
          failure('ComputeServiceUnavailable', 'host host4 is disabled (maintenance)'),
        );
        await db.host.update({ where: { name: 'host3' }, data: { state: 'down' } });
        await expect(requested('host3')).rejects.toMatchObject(
          failure('ComputeServiceUnavailable', 'host host3 is down'),
        );
        await db.host.update({ where: { name: 'host2' }, data: { memoryMiBTotal: 1024 } });
        await expect(requested('host2')).rejects.toMatchObject(
          failure(
            'NoValidHost',
            'host host2 cannot take instance demo: RamFilter: not enough memory: needs 2048 MiB, 1024 MiB free',
          ),
        );
      });
    });

    describe('claimResources and releaseClaims', () => {
      it("claims the new flavor's size once, and refuses what the host cannot hold", async () => {
        const uuid = await acceptMigration();
        await control.claimResources({ migrationUuid: uuid, host: 'host2' });
        await control.claimResources({ migrationUuid: uuid, host: 'host2' });
        const instanceUuid = (await instance()).uuid;
        expect(await claimsOf(uuid)).toEqual([
          expect.objectContaining({
            hostName: 'host2',
            instanceUuid,
            vcpus: 2,
            memoryMiB: 2048,
            diskGiB: 10,
          }),
        ]);

        // host2 has 8 GiB: three more 2 GiB claims fit after demo's, the fourth does not.
        for (const name of ['a', 'b', 'c', 'd']) await addInstance(name, 'host1');
        for (const name of ['a', 'b', 'c']) {
          await control.claimResources({
            migrationUuid: await acceptMigration(name),
            host: 'host2',
          });
        }
        const refused = await acceptMigration('d');
        await expect(
          control.claimResources({ migrationUuid: refused, host: 'host2' }),
        ).rejects.toMatchObject(
          failure(
            'MigrationPreCheckError',
            'host host2 cannot hold instance d: not enough memory: needs 2048 MiB, 0 MiB free',
          ),
        );
        await expect(
          control.claimResources({ migrationUuid: refused, host: 'nohost' }),
        ).rejects.toMatchObject(failure('MigrationPreCheckError', 'host nohost is not registered'));
        expect(await claimsOf(refused)).toEqual([]);
        expect(await db.resourceClaim.count({ where: { hostName: 'host2' } })).toBe(4);
      });

      it('gives the last capacity of a host to exactly one of two concurrent claims', async () => {
        await db.host.update({ where: { name: 'host2' }, data: { memoryMiBTotal: 3072 } });
        await addInstance('other', 'host1');
        await withSecondWorker(async (other) => {
          for (let round = 0; round < 5; round++) {
            await db.resourceClaim.deleteMany();
            const first = await acceptMigration();
            const second = await acceptMigration('other');
            const outcomes = await Promise.allSettled([
              createControlActivities(db, DEFAULTS).claimResources({
                migrationUuid: first,
                host: 'host2',
              }),
              createControlActivities(other, DEFAULTS).claimResources({
                migrationUuid: second,
                host: 'host2',
              }),
            ]);
            expect(outcomes.filter((outcome) => outcome.status === 'fulfilled')).toHaveLength(1);
            const rejected = outcomes.find((outcome) => outcome.status === 'rejected');
            expect(rejected?.reason).toMatchObject(
              failure(
                'MigrationPreCheckError',
                /^host host2 cannot hold instance (demo|other): not enough memory: needs 2048 MiB, 1024 MiB free$/,
              ),
            );
            expect(await db.resourceClaim.count({ where: { hostName: 'host2' } })).toBe(1);
          }
        });
      });

      it('releases the claims on one host, then all of them, again and again', async () => {
        const uuid = await acceptMigration();
        await control.claimResources({ migrationUuid: uuid, host: 'host2' });
        await control.claimResources({ migrationUuid: uuid, host: 'host3' });
        const other = await acceptMigration();
        await control.claimResources({ migrationUuid: other, host: 'host3' });

        await control.releaseClaims({ migrationUuid: uuid, host: 'host2' });
        expect((await claimsOf(uuid)).map((claim) => claim.hostName)).toEqual(['host3']);
        await control.releaseClaims({ migrationUuid: uuid });
        await control.releaseClaims({ migrationUuid: uuid });
        expect(await claimsOf(uuid)).toEqual([]);
        expect(await claimsOf(other)).toHaveLength(1);
      });
    });

    describe("a live migration's merged steps", () => {
      const event = (
        migrationUuid: string,
        name: string,
        phase: 'start' | 'finish',
      ): ActionEventRecord =>
        phase === 'start'
          ? { migrationUuid, event: name, phase }
          : { migrationUuid, event: name, phase, result: 'Success' };
      const eventsOf = async (uuid: string) =>
        (await actionOf(uuid)).events
          .sort((a, b) => a.id - b.id)
          .map((e) => [e.event, e.finishTime === null ? 'started' : e.result]);

      it('begins, records the first step and answers the policy; a refused begin records nothing', async () => {
        const uuid = await acceptMigration();
        const source = 'compute_check_can_live_migrate_source';
        const policy = await control.beginLiveMigration({
          migrationUuid: uuid,
          requestedBy: 'admin:alice',
          events: [event(uuid, source, 'start')],
        });
        expect(policy).toEqual({
          resizeConfirmWindowSeconds: DEFAULTS.resizeConfirmWindowSeconds,
          maxConcurrentLiveMigrations: DEFAULTS.maxConcurrentLiveMigrations,
          schedulerMaxAttempts: DEFAULTS.schedulerMaxAttempts,
        });
        expect(await instance()).toMatchObject({ taskState: 'migrating' });
        expect(await eventsOf(uuid)).toEqual([[source, 'started']]);

        const second = await acceptMigration();
        await expect(
          control.beginLiveMigration({
            migrationUuid: second,
            requestedBy: 'admin:alice',
            events: [event(second, source, 'start')],
          }),
        ).rejects.toMatchObject({ type: 'InstanceInvalidState' });
        expect(await db.instanceAction.count({ where: { requestId: second } })).toBe(0);
      });

      it('records the scheduling and the claim only once each has succeeded', async () => {
        const uuid = await acceptMigration();
        await begin(uuid);
        const events = [event(uuid, 'schedule:1', 'start')];
        await expect(
          control.selectDestinations({
            migrationUuid: uuid,
            requestedHost: 'host4',
            exclude: [],
            events,
          }),
        ).rejects.toMatchObject({ type: 'ComputeServiceUnavailable' });
        expect(await eventsOf(uuid)).toEqual([]);
        expect(
          await control.selectDestinations({
            migrationUuid: uuid,
            requestedHost: null,
            exclude: [],
            events,
          }),
        ).toEqual(['host3', 'host2']);
        expect(await eventsOf(uuid)).toEqual([['schedule:1', 'started']]);

        await addInstance('big', 'host2', 'small');
        await db.host.update({ where: { name: 'host2' }, data: { memoryMiBTotal: 2048 } });
        const check = (host: string) => [
          event(uuid, 'schedule:1', 'finish'),
          event(uuid, `compute_check_can_live_migrate_destination:${host}`, 'start'),
        ];
        await expect(
          control.claimResources({ migrationUuid: uuid, host: 'host2', events: check('host2') }),
        ).rejects.toMatchObject({ type: 'MigrationPreCheckError' });
        expect(await eventsOf(uuid)).toEqual([['schedule:1', 'started']]);
        await control.claimResources({
          migrationUuid: uuid,
          host: 'host3',
          events: check('host3'),
        });
        expect(await eventsOf(uuid)).toEqual([
          ['schedule:1', 'Success'],
          ['compute_check_can_live_migrate_destination:host3', 'started'],
        ]);
      });

      it("queues, takes a free slot and records the next step's start with it", async () => {
        const uuid = await acceptMigration();
        await begin(uuid);
        const check = 'compute_check_can_live_migrate_destination:host3';
        const prepare = 'compute_pre_live_migration';
        expect(
          await control.queueMigration({
            migrationUuid: uuid,
            destHost: 'host3',
            limit: 1,
            events: [event(uuid, check, 'finish')],
            eventsOnSlot: [event(uuid, prepare, 'start')],
          }),
        ).toBe(true);
        expect(await migrationRow(uuid)).toMatchObject({ status: 'preparing', destHost: 'host3' });
        expect(await eventsOf(uuid)).toEqual([
          [check, 'Success'],
          [prepare, 'started'],
        ]);
      });

      it("stays queued while the source's slot is taken, then records the start with the slot", async () => {
        const first = await acceptMigration();
        await begin(first);
        expect(
          await control.queueMigration({ migrationUuid: first, destHost: 'host3', limit: 1 }),
        ).toBe(true);
        await addInstance('other', 'host1');
        const uuid = await acceptMigration('other');
        await control.beginInstanceOperation({
          migrationUuid: uuid,
          taskState: 'migrating',
          action: 'live-migration',
          requestedBy: 'admin:alice',
        });
        const prepare = 'compute_pre_live_migration';
        const onSlot = [event(uuid, prepare, 'start')];
        expect(
          await control.queueMigration({
            migrationUuid: uuid,
            destHost: 'host2',
            limit: 1,
            events: [event(uuid, 'schedule:1', 'finish')],
            eventsOnSlot: onSlot,
          }),
        ).toBe(false);
        expect(await migrationRow(uuid)).toMatchObject({ status: 'queued', destHost: 'host2' });
        expect(await eventsOf(uuid)).toEqual([['schedule:1', 'Success']]);

        await control.setMigrationStatus({ migrationUuid: first, status: 'completed' });
        expect(
          await control.acquireMigrationSlot({ migrationUuid: uuid, limit: 1, events: onSlot }),
        ).toBe(true);
        expect(await eventsOf(uuid)).toEqual([
          ['schedule:1', 'Success'],
          [prepare, 'started'],
        ]);
      });

      it('runs with the destination as peers reach it; a destination gone writes nothing', async () => {
        const uuid = await acceptMigration();
        await begin(uuid);
        await control.queueMigration({ migrationUuid: uuid, destHost: 'host3', limit: 1 });
        const migrate = [event(uuid, 'compute_live_migration', 'start')];
        await expect(
          control.startLiveMigration({ migrationUuid: uuid, destHost: 'gone', events: migrate }),
        ).rejects.toMatchObject({ type: 'NoValidHost' });
        expect((await migrationRow(uuid)).status).toBe('preparing');
        expect(await eventsOf(uuid)).toEqual([]);
        const peer = await control.startLiveMigration({
          migrationUuid: uuid,
          destHost: 'host3',
          events: migrate,
        });
        expect(peer).toMatchObject({ name: 'host3', libvirtUri: 'qemu+tcp://10.0.0.3/system' });
        expect((await migrationRow(uuid)).status).toBe('running');
        expect(await eventsOf(uuid)).toEqual([['compute_live_migration', 'started']]);
      });
    });

    describe('acquireMigrationSlot', () => {
      async function queued(name: string, hostName = 'host1'): Promise<string> {
        await addInstance(name, hostName);
        const uuid = await acceptMigration(name);
        await control.setMigrationStatus({ migrationUuid: uuid, status: 'queued' });
        return uuid;
      }
      const acquire = (migrationUuid: string, limit = 1) =>
        control.acquireMigrationSlot({ migrationUuid, limit });

      it('lets the oldest queued migrations of a source run, up to the limit', async () => {
        const [first, second, third] = [await queued('a'), await queued('b'), await queued('c')];
        const elsewhere = await queued('x', 'host2');
        expect(await acquire(second)).toBe(false);
        expect(await acquire(first)).toBe(true);
        expect(await acquire(first)).toBe(true);
        expect(await acquire(second)).toBe(false);
        expect(await acquire(elsewhere)).toBe(true);
        expect((await migrationRow(first)).status).toBe('preparing');
        expect((await migrationRow(second)).status).toBe('queued');

        await control.setMigrationStatus({ migrationUuid: first, status: 'running' });
        expect(await acquire(third, 2)).toBe(false);
        expect(await acquire(second, 2)).toBe(true);
        await control.setMigrationStatus({ migrationUuid: first, status: 'completed' });
        expect(await acquire(third, 2)).toBe(true);
        expect((await migrationRow(third)).status).toBe('preparing');
      });

      it('never hands out more slots than the limit to concurrent callers', async () => {
        const uuids: string[] = [];
        for (const name of ['a', 'b', 'c', 'd', 'e']) uuids.push(await queued(name));
        await withSecondWorker(async (other) => {
          const clients = [
            createControlActivities(db, DEFAULTS),
            createControlActivities(other, DEFAULTS),
          ];
          const granted = await Promise.all(
            uuids.map((uuid, i) =>
              clients[i % 2].acquireMigrationSlot({ migrationUuid: uuid, limit: 2 }),
            ),
          );
          expect(granted).toEqual([true, true, false, false, false]);
          expect(await db.migration.count({ where: { status: 'preparing' } })).toBe(2);
        });
      });

      describe('max_concurrent_migrations', () => {
        /** A control worker with a fleet cap of 2 and room for 10 live migrations per source. */
        const capped = () =>
          createControlActivities(db, {
            ...DEFAULTS,
            maxConcurrentMigrations: 2,
            maxConcurrentLiveMigrations: 10,
          });
        async function waiting(name: string, hostName: string, kind: string): Promise<string> {
          await addInstance(name, hostName);
          return acceptMigration(name, 'queued', kind);
        }
        const statusOf = async (uuid: string) => (await migrationRow(uuid)).status;

        it('lets two migrations of any kind move at once, the oldest waiting first', async () => {
          const live = await waiting('a', 'host1', 'live-migration');
          const resize = await waiting('b', 'host2', 'resize');
          const cold = await waiting('c', 'host3', 'migration');
          const control2 = capped();

          expect(await control2.acquireMigrationSlot({ migrationUuid: cold })).toBe(false);
          expect(await control2.acquireMigrationSlot({ migrationUuid: live })).toBe(true);
          expect(await control2.acquireMigrationSlot({ migrationUuid: cold })).toBe(false);
          expect(await control2.acquireMigrationSlot({ migrationUuid: resize })).toBe(true);
          expect([await statusOf(live), await statusOf(resize)]).toEqual([
            'preparing',
            'migrating',
          ]);
          expect(await control2.acquireMigrationSlot({ migrationUuid: cold })).toBe(false);

          await control.setMigrationStatus({ migrationUuid: live, status: 'running' });
          await db.migration.update({
            where: { uuid: resize },
            data: { status: 'post-migrating' },
          });
          expect(await control2.acquireMigrationSlot({ migrationUuid: cold })).toBe(false);
          await control.setMigrationStatus({ migrationUuid: live, status: 'completed' });
          expect(await control2.acquireMigrationSlot({ migrationUuid: cold })).toBe(true);
          expect(await statusOf(cold)).toBe('migrating');
          expect(await control2.acquireMigrationSlot({ migrationUuid: resize })).toBe(true);
          expect(await statusOf(resize)).toBe('post-migrating');
        });

        it('does not hold the fleet for a live migration its own source holds back', async () => {
          const busy = await waiting('a', 'host1', 'live-migration');
          expect(await acquire(busy, 1)).toBe(true);
          const heldBack = await waiting('b', 'host1', 'live-migration');
          const resize = await waiting('c', 'host2', 'resize');
          const control2 = capped();
          expect(await control2.acquireMigrationSlot({ migrationUuid: heldBack, limit: 1 })).toBe(
            false,
          );
          expect(await control2.acquireMigrationSlot({ migrationUuid: resize, limit: 1 })).toBe(
            true,
          );
          expect(await statusOf(heldBack)).toBe('queued');
        });

        it('does not wait for a queued migration whose workflow stopped asking', async () => {
          const gone = await waiting('a', 'host1', 'resize');
          const alive = await waiting('b', 'host2', 'live-migration');
          const control1 = createControlActivities(db, { ...DEFAULTS, maxConcurrentMigrations: 1 });
          expect(await control1.acquireMigrationSlot({ migrationUuid: alive })).toBe(false);
          await db.migration.update({
            where: { uuid: gone },
            data: { updatedAt: new Date(Date.now() - 2 * 60_000) },
          });
          expect(await control1.acquireMigrationSlot({ migrationUuid: alive })).toBe(true);
          expect(await control1.acquireMigrationSlot({ migrationUuid: gone })).toBe(false);
          await control.setMigrationStatus({ migrationUuid: alive, status: 'completed' });
          expect(await control1.acquireMigrationSlot({ migrationUuid: gone })).toBe(true);
        });

        it('never lets concurrent callers of two control workers move more than the cap', async () => {
          const kinds = ['live-migration', 'resize', 'migration'];
          const hosts = ['host1', 'host2', 'host3', 'host4'];
          const uuids: string[] = [];
          for (let i = 0; i < 12; i++) {
            uuids.push(await waiting(`vm${i}`, hosts[i % hosts.length], kinds[i % kinds.length]));
          }
          await withSecondWorker(async (other) => {
            const settings = {
              ...DEFAULTS,
              maxConcurrentMigrations: 3,
              maxConcurrentLiveMigrations: 10,
            };
            const clients = [
              createControlActivities(db, settings),
              createControlActivities(other, settings),
            ];
            let remaining = uuids;
            while (remaining.length > 0) {
              const granted = await Promise.all(
                remaining.map((uuid, i) =>
                  clients[i % 2].acquireMigrationSlot({ migrationUuid: uuid }),
                ),
              );
              const moved = remaining.filter((_, i) => granted[i]);
              expect(moved).toEqual(remaining.slice(0, 3));
              expect(
                await db.migration.count({
                  where: {
                    status: { in: ['preparing', 'running', 'migrating', 'post-migrating'] },
                  },
                }),
              ).toBe(moved.length);
              await db.migration.updateMany({
                where: { uuid: { in: moved } },
                data: { status: 'completed' },
              });
              remaining = remaining.slice(moved.length);
            }
          });
        });
      });

      it('refuses a migration that was not queued', async () => {
        const uuid = await acceptMigration();
        await expect(acquire(uuid)).rejects.toMatchObject(
          failure(
            'MigrationError',
            `migration ${uuid} is accepted, not queued: it cannot wait for a slot`,
          ),
        );
      });
    });

    describe('completeLiveMigration', () => {
      it('moves the instance, finishes the migration and its action, and releases its claims', async () => {
        const uuid = await acceptMigration();
        await begin(uuid);
        await control.claimResources({ migrationUuid: uuid, host: 'host2' });
        await control.setMigrationStatus({
          migrationUuid: uuid,
          status: 'running',
          destHost: 'host2',
        });
        await control.completeLiveMigration({ migrationUuid: uuid, destHost: 'host2', result });

        expect(await instance()).toMatchObject({
          hostName: 'host2',
          taskState: null,
          progress: 100,
          powerState: 'running',
          vmState: 'active',
        });
        const migration = await migrationRow(uuid);
        expect(migration).toMatchObject({
          status: 'completed',
          destHost: 'host2',
          memoryTotalBytes: 2n * 2n ** 30n,
          memoryProcessedBytes: 2n * 2n ** 30n,
          memoryRemainingBytes: 0n,
          diskTotalBytes: 10n * 2n ** 30n,
          diskProcessedBytes: 10n * 2n ** 30n,
          diskRemainingBytes: 0n,
          error: null,
        });
        expect(migration.finishedAt).toBeInstanceOf(Date);
        expect(await claimsOf(uuid)).toEqual([]);
        expect((await actionOf(uuid)).finishTime).toBeInstanceOf(Date);

        await control.completeLiveMigration({ migrationUuid: uuid, destHost: 'host2', result });
        expect((await migrationRow(uuid)).finishedAt).toEqual(migration.finishedAt);
      });

      it('refuses to complete a migration that failed', async () => {
        const uuid = await acceptMigration();
        await begin(uuid);
        await control.failMigration({
          migrationUuid: uuid,
          status: 'failed',
          error: 'x',
          instanceError: false,
        });
        await expect(
          control.completeLiveMigration({ migrationUuid: uuid, destHost: 'host2', result }),
        ).rejects.toMatchObject(
          failure(
            'MigrationError',
            `migration ${uuid} already ended as failed: it cannot complete`,
          ),
        );
        expect((await instance()).hostName).toBe('host1');
      });
    });

    describe('failMigration', () => {
      it('ends the migration and its action with the error, releases its claims, frees the instance', async () => {
        const uuid = await acceptMigration();
        await begin(uuid);
        await control.claimResources({ migrationUuid: uuid, host: 'host2' });
        await control.failMigration({
          migrationUuid: uuid,
          status: 'failed',
          error: 'migration stalled',
          instanceError: false,
        });

        expect(await instance()).toMatchObject({
          hostName: 'host1',
          taskState: null,
          vmState: 'active',
        });
        const migration = await migrationRow(uuid);
        expect(migration).toMatchObject({ status: 'failed', error: 'migration stalled' });
        expect(migration.finishedAt).toBeInstanceOf(Date);
        expect(await claimsOf(uuid)).toEqual([]);
        const action = await actionOf(uuid);
        expect(action.message).toBe('migration stalled');
        expect(action.finishTime).toBeInstanceOf(Date);
      });

      it('puts the instance in ERROR when a compensation failed', async () => {
        const uuid = await acceptMigration();
        await begin(uuid);
        await control.failMigration({
          migrationUuid: uuid,
          status: 'error',
          error: 'rollback failed: host2 did not answer',
          instanceError: true,
        });
        expect(await instance()).toMatchObject({ taskState: null, vmState: 'error' });
        expect(await migrationRow(uuid)).toMatchObject({
          status: 'error',
          error: 'rollback failed: host2 did not answer',
        });
      });

      it('does nothing when repeated, even after another operation began', async () => {
        const first = await acceptMigration();
        await begin(first);
        const fail = () =>
          control.failMigration({
            migrationUuid: first,
            status: 'cancelled',
            error: 'aborted',
            instanceError: false,
          });
        await fail();
        const second = await acceptMigration();
        await begin(second);
        await fail();
        expect(await instance()).toMatchObject({ taskState: 'migrating', vmState: 'active' });
        expect(await migrationRow(first)).toMatchObject({ status: 'cancelled', error: 'aborted' });
      });

      it('touches no instance whose operation it never began', async () => {
        const holder = await acceptMigration();
        await begin(holder);
        const refused = await acceptMigration();
        await control.failMigration({
          migrationUuid: refused,
          status: 'error',
          error: 'busy',
          instanceError: true,
        });
        expect(await instance()).toMatchObject({ taskState: 'migrating', vmState: 'active' });
        expect(await migrationRow(refused)).toMatchObject({ status: 'error', error: 'busy' });
      });
    });

    describe('saveMigrationProgress', () => {
      it("saves the byte counters and the instance's progress, rounded, while running", async () => {
        const uuid = await acceptMigration();
        expect(await saveMigrationProgress(db, { migrationUuid: uuid, progress })).toBe(false);
        await db.migration.update({ where: { uuid }, data: { status: 'running' } });
        expect(await saveMigrationProgress(db, { migrationUuid: uuid, progress })).toBe(true);
        expect(await migrationRow(uuid)).toMatchObject({
          memoryTotalBytes: 2n * 2n ** 30n,
          memoryProcessedBytes: 3n * 2n ** 29n,
          memoryRemainingBytes: 2n ** 29n,
          diskTotalBytes: 10n * 2n ** 30n,
          diskProcessedBytes: 4n * 2n ** 30n,
          diskRemainingBytes: 6n * 2n ** 30n,
        });
        expect((await instance()).progress).toBe(67);
        await db.migration.update({ where: { uuid }, data: { status: 'completed' } });
        const later = { ...progress, memoryProcessedBytes: 0, percent: 1 };
        expect(await saveMigrationProgress(db, { migrationUuid: uuid, progress: later })).toBe(
          false,
        );
        expect(await migrationRow(uuid)).toMatchObject({ memoryProcessedBytes: 3n * 2n ** 29n });
        expect((await instance()).progress).toBe(67);
        expect(
          await saveMigrationProgress(db, { migrationUuid: 'no-such-migration', progress }),
        ).toBe(false);
      });
    });
  },
);
