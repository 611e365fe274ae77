import { randomUUID } from 'node:crypto';
import { createControlActivities } from '../../activities/control';
import { loadConfig } from '../../config';
import { openDatabase, type Database } from '../../db/database';
import { readHostStates } from '../../db/host-state';
import { migrateDatabase } from '../../db/migrate';
import { scratchDatabase, type ScratchDatabase } from '../support/databases';

/** A failure as a workflow sees it: its type, its message, and whether it may be retried. */
function failure(type: string, message: string) {
  return { type, message, nonRetryable: true };
}

const DEADLINE = '2030-01-02T03:04:05.000Z';

describe.each(['sqlite', 'postgresql'] as const)('resize control activities on %s', (provider) => {
  let scratch: ScratchDatabase;
  let db: Database;
  let control: ReturnType<typeof createControlActivities>;

  beforeAll(async () => {
    scratch = await scratchDatabase(provider);
    await migrateDatabase(scratch.url);
    db = await openDatabase(scratch.url);
    control = createControlActivities(db, loadConfig({}));
  });

  afterAll(async () => {
    await db?.$disconnect();
    await scratch?.drop();
  });

  /**
   * host1 (16 GiB, runs demo), host2 (8 GiB), host3 (12 GiB), host4 (disabled); flavors small
   * (2 vCPU, 2 GiB, 10 GiB), medium (4, 4 GiB, 20 GiB), large (4, 15 GiB, 20 GiB) and huge
   * (4, 17 GiB, 20 GiB); demo is small.
   */
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
          libvirtUri: 'qemu+tcp://h1/system',
          memoryMiBTotal: 16_384,
          ...hypervisor,
        },
        { name: 'host2', libvirtUri: 'qemu+tcp://h2/system', memoryMiBTotal: 8192, ...hypervisor },
        {
          name: 'host3',
          libvirtUri: 'qemu+tcp://h3/system',
          memoryMiBTotal: 12_288,
          ...hypervisor,
        },
        {
          name: 'host4',
          libvirtUri: 'qemu+tcp://h4/system',
          memoryMiBTotal: 65_536,
          state: 'disabled',
          disabledReason: 'maintenance',
          ...hypervisor,
        },
      ],
    });
    await db.flavor.createMany({
      data: [
        { id: 'small', name: 'small', vcpus: 2, memoryMiB: 2048, rootDiskGiB: 10 },
        { id: 'medium', name: 'medium', vcpus: 4, memoryMiB: 4096, rootDiskGiB: 20 },
        { id: 'large', name: 'large', vcpus: 4, memoryMiB: 15_360, rootDiskGiB: 20 },
        { id: 'huge', name: 'huge', vcpus: 4, memoryMiB: 17_408, rootDiskGiB: 20 },
      ],
    });
    await addInstance('demo', 'host1');
  });

  async function addInstance(name: string, hostName: string, flavorId = 'small') {
    await db.instance.create({ data: { uuid: randomUUID(), name, hostName, flavorId } });
  }

  /** The Migration row as the start helper records a resize (or cold migration) of an instance. */
  async function acceptResize(
    newFlavorId = 'medium',
    options: { instance?: string; type?: string; status?: string } = {},
  ): Promise<string> {
    const instance = await db.instance.findUniqueOrThrow({
      where: { name: options.instance ?? 'demo' },
    });
    const uuid = randomUUID();
    await db.migration.create({
      data: {
        uuid,
        instanceUuid: instance.uuid,
        migrationType: options.type ?? 'resize',
        status: options.status ?? 'pre-migrating',
        sourceHost: instance.hostName,
        oldFlavorId: instance.flavorId,
        newFlavorId,
        workflowId: `instance-${instance.uuid}`,
      },
    });
    return uuid;
  }

  const begin = (migrationUuid: string) =>
    control.beginResize({ migrationUuid, requestedBy: 'admin:alice' });

  /** Everything the workflow does up to VERIFY_RESIZE, on `dest`. */
  async function finishOn(migrationUuid: string, dest: string, deadline: string | null = DEADLINE) {
    await begin(migrationUuid);
    await control.claimResources({ migrationUuid, host: dest });
    await control.setResizeProgress({
      migrationUuid,
      status: 'migrating',
      taskState: 'resize_migrating',
      destHost: dest,
    });
    await control.setResizeProgress({
      migrationUuid,
      status: 'post-migrating',
      taskState: 'resize_finish',
    });
    await control.finishResize({
      migrationUuid,
      destHost: dest,
      confirmDeadline: deadline,
      domainXml: `<domain>resized on ${dest}</domain>`,
    });
  }

  /** demo powered off: ferry's stopped instance is active with power_state shutdown. */
  const stop = () =>
    db.instance.update({ where: { name: 'demo' }, data: { powerState: 'shutdown' } });
  const instance = (name = 'demo') => db.instance.findUniqueOrThrow({ where: { name } });
  const migrationRow = (uuid: string) => db.migration.findUniqueOrThrow({ where: { uuid } });
  /** The migration's claims as (host, vCPUs, MiB, GiB), by host name. */
  const claimsOf = async (uuid: string) =>
    (
      await db.resourceClaim.findMany({
        where: { migration: { uuid } },
        orderBy: { hostName: 'asc' },
      })
    ).map((claim) => [claim.hostName, claim.vcpus, claim.memoryMiB, claim.diskGiB]);
  const actionOf = (uuid: string) =>
    db.instanceAction.findUniqueOrThrow({ where: { requestId: uuid }, include: { events: true } });
  const eventsOf = async (uuid: string) =>
    (await actionOf(uuid)).events.map(({ event, result }) => [event, result]);
  /** Memory used on each host, as the scheduler and the claims count it. */
  const memoryUsed = async () =>
    Object.fromEntries(
      (await readHostStates(db, {})).map((host) => [host.name, host.used.memoryMiB]),
    );

  describe('beginResize', () => {
    it('sets resize_prep and opens the resize action once, however often it is retried', async () => {
      const uuid = await acceptResize();
      await begin(uuid);
      await begin(uuid);
      expect(await instance()).toMatchObject({
        taskState: 'resize_prep',
        vmState: 'active',
        hostName: 'host1',
        flavorId: 'small',
      });
      const actions = await db.instanceAction.findMany();
      expect(actions).toEqual([
        expect.objectContaining({
          requestId: uuid,
          action: 'resize',
          userId: 'admin:alice',
          finishTime: null,
        }),
      ]);
      expect((await migrationRow(uuid)).status).toBe('pre-migrating');
    });

    it('succeeds again after the steps that followed it, as when their workflow task was lost', async () => {
      const uuid = await acceptResize();
      await begin(uuid);
      await control.claimResources({ migrationUuid: uuid, host: 'host2' });
      await control.setResizeProgress({
        migrationUuid: uuid,
        status: 'migrating',
        taskState: 'resize_migrating',
        destHost: 'host2',
      });
      await begin(uuid);
      expect(await instance()).toMatchObject({ taskState: 'resize_migrating' });
      expect(await db.instanceAction.count()).toBe(1);
      expect((await migrationRow(uuid)).status).toBe('migrating');
    });

    it('opens a migrate action for a cold migration', async () => {
      const uuid = await acceptResize('small', { type: 'migration' });
      await begin(uuid);
      expect((await actionOf(uuid)).action).toBe('migrate');
    });

    it('begins a stopped instance (active, powered off)', async () => {
      await stop();
      const uuid = await acceptResize();
      await begin(uuid);
      expect(await instance()).toMatchObject({
        vmState: 'active',
        powerState: 'shutdown',
        taskState: 'resize_prep',
      });
    });

    it.each([
      ['locked', { locked: true }, 'InstanceLocked', 'instance demo is locked'],
      [
        'busy',
        { taskState: 'migrating' },
        'InstanceInvalidState',
        'instance demo is in task_state migrating: another operation is running',
      ],
      [
        'in error',
        { vmState: 'error' },
        'InstanceInvalidState',
        'instance demo is in vm_state error, not active',
      ],
      [
        'in vm_state stopped',
        { vmState: 'stopped', powerState: 'shutdown' },
        'InstanceInvalidState',
        'instance demo is in vm_state stopped, not active',
      ],
      [
        'waiting for a confirm',
        { vmState: 'resized' },
        'InstanceInvalidState',
        'instance demo is in vm_state resized, not active',
      ],
      [
        'paused',
        { powerState: 'paused' },
        'InstanceInvalidState',
        'instance demo is in power_state paused, not running or shutdown',
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
        const uuid = await acceptResize();
        await db.instance.update({ where: { name: 'demo' }, data: state });
        const before = await instance();
        await expect(begin(uuid)).rejects.toMatchObject(failure(type, message));
        expect(await instance()).toEqual(before);
        expect(await db.instanceAction.count()).toBe(0);
      },
    );

    it('refuses while another resize holds the instance, an ended migration and a live migration', async () => {
      const first = await acceptResize();
      await begin(first);
      await expect(begin(await acceptResize('large'))).rejects.toMatchObject(
        failure(
          'InstanceInvalidState',
          'instance demo is in task_state resize_prep: another operation is running',
        ),
      );
      const ended = await acceptResize('medium', { status: 'error' });
      await expect(begin(ended)).rejects.toMatchObject(
        failure('MigrationError', `migration ${ended} already ended as error: it cannot begin`),
      );
      const live = await acceptResize('small', { type: 'live-migration', status: 'accepted' });
      await expect(begin(live)).rejects.toMatchObject(
        failure(
          'MigrationError',
          `migration ${live} is a live-migration, not a resize or cold migration`,
        ),
      );
      expect((await db.instanceAction.findMany()).map((action) => action.requestId)).toEqual([
        first,
      ]);
    });
  });

  describe('selectDestinations and claimResources for a resize', () => {
    it('weighs hosts by the new flavor and offers the source only when it is allowed', async () => {
      const uuid = await acceptResize('medium');
      const select = (allowSameHost?: boolean) =>
        control.selectDestinations({
          migrationUuid: uuid,
          requestedHost: null,
          exclude: [],
          allowSameHost,
        });
      expect(await select()).toEqual(['host3', 'host2']);
      expect(await select(false)).toEqual(['host3', 'host2']);
      expect(await select(true)).toEqual(['host1', 'host3', 'host2']);

      const requested = (allowSameHost: boolean) =>
        control.selectDestinations({
          migrationUuid: uuid,
          requestedHost: 'host1',
          exclude: [],
          allowSameHost,
        });
      await expect(requested(false)).rejects.toMatchObject(
        failure('UnableToMigrateToSelf', 'unable to migrate instance demo to its own host host1'),
      );
      expect(await requested(true)).toEqual(['host1']);

      await control.claimResources({ migrationUuid: uuid, host: 'host3' });
      expect(await claimsOf(uuid)).toEqual([['host3', 4, 4096, 20]]);
    });

    it('counts the instance once on its own host: its new size replaces its old one', async () => {
      // large (15 GiB) fits host1 (16 GiB) in place of demo's 2 GiB, not on top of them.
      const uuid = await acceptResize('large');
      expect(
        await control.selectDestinations({
          migrationUuid: uuid,
          requestedHost: null,
          exclude: [],
          allowSameHost: true,
        }),
      ).toEqual(['host1']);
      await control.claimResources({ migrationUuid: uuid, host: 'host1' });
      expect(await claimsOf(uuid)).toEqual([['host1', 4, 15_360, 20]]);
      expect((await memoryUsed()).host1).toBe(15_360);

      // While the claim holds host1, only 1 GiB is left there for anyone else.
      await addInstance('other', 'host2');
      const incoming = await acceptResize('small', { instance: 'other', type: 'migration' });
      await expect(
        control.selectDestinations({
          migrationUuid: incoming,
          requestedHost: 'host1',
          exclude: [],
        }),
      ).rejects.toMatchObject(
        failure(
          'NoValidHost',
          'host host1 cannot take instance other: RamFilter: not enough memory: needs 2048 MiB, 1024 MiB free',
        ),
      );
      await expect(
        control.claimResources({ migrationUuid: incoming, host: 'host1' }),
      ).rejects.toMatchObject(
        failure(
          'MigrationPreCheckError',
          'host host1 cannot hold instance other: not enough memory: needs 2048 MiB, 1024 MiB free',
        ),
      );
    });

    it('refuses a flavor no host can hold, naming each host, the source included', async () => {
      const uuid = await acceptResize('huge');
      await expect(
        control.selectDestinations({
          migrationUuid: uuid,
          requestedHost: null,
          exclude: [],
          allowSameHost: true,
        }),
      ).rejects.toMatchObject(
        failure(
          'NoValidHost',
          'no valid host for instance demo: ' +
            'host1 (RamFilter: not enough memory: needs 17408 MiB, 16384 MiB free), ' +
            'host2 (RamFilter: not enough memory: needs 17408 MiB, 8192 MiB free), ' +
            'host3 (RamFilter: not enough memory: needs 17408 MiB, 12288 MiB free), ' +
            'host4 (ComputeFilter: host is disabled (maintenance))',
        ),
      );
    });
  });

  describe('setResizeProgress', () => {
    it('sets status, task_state and destination together, only forward', async () => {
      const uuid = await acceptResize();
      await begin(uuid);
      const progress = {
        migrationUuid: uuid,
        status: 'migrating',
        taskState: 'resize_migrating',
        destHost: 'host2',
      } as const;
      await control.setResizeProgress(progress);
      await control.setResizeProgress(progress);
      expect(await migrationRow(uuid)).toMatchObject({ status: 'migrating', destHost: 'host2' });
      expect((await instance()).taskState).toBe('resize_migrating');

      await control.setResizeProgress({
        migrationUuid: uuid,
        status: 'post-migrating',
        taskState: 'resize_migrated',
      });
      expect(await migrationRow(uuid)).toMatchObject({
        status: 'post-migrating',
        destHost: 'host2',
      });
      expect((await instance()).taskState).toBe('resize_migrated');

      await expect(control.setResizeProgress(progress)).rejects.toMatchObject(
        failure(
          'MigrationError',
          `migration ${uuid} is post-migrating: it cannot become migrating`,
        ),
      );
      await expect(
        control.setResizeProgress({ migrationUuid: uuid, status: 'confirming', taskState: null }),
      ).rejects.toMatchObject(
        failure(
          'MigrationError',
          `migration ${uuid} is post-migrating: it cannot become confirming`,
        ),
      );
      await expect(
        control.setResizeProgress({ migrationUuid: uuid, status: 'finished', taskState: null }),
      ).rejects.toMatchObject(
        failure(
          'MigrationError',
          'status finished is set by finishResize, confirmResize, revertResize or failResize, not by setResizeProgress',
        ),
      );
      expect((await migrationRow(uuid)).status).toBe('post-migrating');
      expect((await instance()).taskState).toBe('resize_migrated');
    });

    it('takes queued again as done once the slot has moved the resize on (a lost workflow task)', async () => {
      const uuid = await acceptResize();
      await begin(uuid);
      const queued = { migrationUuid: uuid, status: 'queued', taskState: 'resize_prep' } as const;
      await control.setResizeProgress(queued);
      expect(await control.acquireMigrationSlot({ migrationUuid: uuid })).toBe(true);
      await control.setResizeProgress({
        migrationUuid: uuid,
        status: 'migrating',
        taskState: 'resize_migrating',
      });
      // The replay of the lost task: queued, then the slot, again.
      await control.setResizeProgress(queued);
      expect(await control.acquireMigrationSlot({ migrationUuid: uuid })).toBe(true);
      expect((await migrationRow(uuid)).status).toBe('migrating');
      expect((await instance()).taskState).toBe('resize_migrating');
    });

    it('refuses a resize that has not begun, and one that ended', async () => {
      const uuid = await acceptResize();
      const progress = {
        migrationUuid: uuid,
        status: 'migrating',
        taskState: 'resize_migrating',
      } as const;
      await expect(control.setResizeProgress(progress)).rejects.toMatchObject(
        failure(
          'MigrationError',
          `migration ${uuid} does not hold its instance: its operation has not begun`,
        ),
      );
      expect((await migrationRow(uuid)).status).toBe('pre-migrating');
      expect((await instance()).taskState).toBeNull();

      await begin(uuid);
      await control.failResize({ migrationUuid: uuid, error: 'boom', instanceError: false });
      await expect(control.setResizeProgress(progress)).rejects.toMatchObject(
        failure(
          'MigrationError',
          `migration ${uuid} already ended as error: it cannot become migrating`,
        ),
      );
    });
  });

  describe('finishResize', () => {
    it('moves the instance to the destination with the new flavor and swaps the claims', async () => {
      const uuid = await acceptResize('medium');
      await begin(uuid);
      await control.claimResources({ migrationUuid: uuid, host: 'host2' });
      expect(await claimsOf(uuid)).toEqual([['host2', 4, 4096, 20]]);
      expect(await memoryUsed()).toMatchObject({ host1: 2048, host2: 4096 });

      await finishOn(uuid, 'host2');
      expect(await instance()).toMatchObject({
        hostName: 'host2',
        flavorId: 'medium',
        vmState: 'resized',
        taskState: null,
        powerState: 'running',
        domainXml: '<domain>resized on host2</domain>',
      });
      const finished = await migrationRow(uuid);
      expect(finished).toMatchObject({ status: 'finished', destHost: 'host2', finishedAt: null });
      expect(finished.confirmDeadline?.toISOString()).toBe(DEADLINE);
      // The old flavor stays held on the source for a revert; host2 counts the instance itself.
      expect(await claimsOf(uuid)).toEqual([['host1', 2, 2048, 10]]);
      expect(await memoryUsed()).toMatchObject({ host1: 2048, host2: 4096 });
      expect((await actionOf(uuid)).finishTime).toBeNull();

      await control.finishResize({ migrationUuid: uuid, destHost: 'host2', confirmDeadline: null });
      expect(await migrationRow(uuid)).toEqual(finished);
      expect(await claimsOf(uuid)).toEqual([['host1', 2, 2048, 10]]);
      await expect(
        control.finishResize({ migrationUuid: uuid, destHost: 'host3', confirmDeadline: null }),
      ).rejects.toMatchObject(
        failure('MigrationError', `migration ${uuid} already finished on host2, not on host3`),
      );
    });

    it('keeps no deadline for a window of 0, and claims nothing more for a same-host resize', async () => {
      const uuid = await acceptResize('large');
      await finishOn(uuid, 'host1', null);
      expect(await instance()).toMatchObject({
        hostName: 'host1',
        flavorId: 'large',
        vmState: 'resized',
        taskState: null,
      });
      expect(await migrationRow(uuid)).toMatchObject({ status: 'finished', confirmDeadline: null });
      expect(await claimsOf(uuid)).toEqual([]);
      expect((await memoryUsed()).host1).toBe(15_360);
    });

    it('keeps a stopped instance stopped', async () => {
      await stop();
      const uuid = await acceptResize('medium');
      await finishOn(uuid, 'host3');
      expect(await instance()).toMatchObject({
        hostName: 'host3',
        vmState: 'resized',
        powerState: 'shutdown',
      });
    });

    it('refuses a resize that failed, and a deadline that is no time', async () => {
      const uuid = await acceptResize('medium');
      await begin(uuid);
      await expect(
        control.finishResize({ migrationUuid: uuid, destHost: 'host2', confirmDeadline: 'soon' }),
      ).rejects.toMatchObject(
        failure('MigrationError', 'confirmDeadline "soon" is not an ISO time'),
      );
      await control.failResize({ migrationUuid: uuid, error: 'copy failed', instanceError: false });
      await expect(
        control.finishResize({ migrationUuid: uuid, destHost: 'host2', confirmDeadline: null }),
      ).rejects.toMatchObject(
        failure('MigrationError', `migration ${uuid} already ended as error: it cannot finish`),
      );
      expect(await instance()).toMatchObject({
        hostName: 'host1',
        flavorId: 'small',
        vmState: 'active',
      });
    });
  });

  describe('confirmResize', () => {
    it("keeps the instance where it is, releases every claim and records the user's confirm", async () => {
      const uuid = await acceptResize('medium');
      await finishOn(uuid, 'host2');
      await control.setResizeProgress({
        migrationUuid: uuid,
        status: 'confirming',
        taskState: 'resize_confirming',
      });
      expect((await instance()).taskState).toBe('resize_confirming');
      await control.confirmResize({ migrationUuid: uuid, auto: false });

      expect(await instance()).toMatchObject({
        hostName: 'host2',
        flavorId: 'medium',
        vmState: 'active',
        taskState: null,
        powerState: 'running',
      });
      const confirmed = await migrationRow(uuid);
      expect(confirmed).toMatchObject({ status: 'confirmed', destHost: 'host2', error: null });
      expect(confirmed.finishedAt).toBeInstanceOf(Date);
      expect(await claimsOf(uuid)).toEqual([]);
      expect(await memoryUsed()).toMatchObject({ host1: 0, host2: 4096 });
      expect(await eventsOf(uuid)).toEqual([['confirm_resize', 'Success']]);
      expect((await actionOf(uuid)).finishTime).toBeInstanceOf(Date);

      await control.confirmResize({ migrationUuid: uuid, auto: false });
      expect(await migrationRow(uuid)).toEqual(confirmed);
      await expect(control.revertResize({ migrationUuid: uuid })).rejects.toMatchObject(
        failure(
          'MigrationError',
          `migration ${uuid} already ended as confirmed: it cannot be reverted`,
        ),
      );
      await expect(
        control.failResize({ migrationUuid: uuid, error: 'late', instanceError: true }),
      ).rejects.toMatchObject(
        failure('MigrationError', `migration ${uuid} already ended as confirmed: it cannot fail`),
      );
      expect(await instance()).toMatchObject({ hostName: 'host2', vmState: 'active' });
    });

    it('records an automatic confirm as auto_confirm, and keeps a stopped instance stopped', async () => {
      await stop();
      const uuid = await acceptResize('medium', { type: 'migration' });
      await finishOn(uuid, 'host2');
      await control.confirmResize({ migrationUuid: uuid, auto: true });
      expect(await instance()).toMatchObject({
        hostName: 'host2',
        vmState: 'active',
        powerState: 'shutdown',
        taskState: null,
      });
      expect(await eventsOf(uuid)).toEqual([['auto_confirm', 'Success']]);
    });

    it('refuses a resize that has not finished, or is being reverted', async () => {
      const uuid = await acceptResize('medium');
      await begin(uuid);
      await control.setResizeProgress({
        migrationUuid: uuid,
        status: 'migrating',
        taskState: 'resize_migrating',
      });
      await expect(
        control.confirmResize({ migrationUuid: uuid, auto: true }),
      ).rejects.toMatchObject(
        failure('MigrationError', `migration ${uuid} is migrating: it cannot be confirmed`),
      );
      await control.setResizeProgress({
        migrationUuid: uuid,
        status: 'post-migrating',
        taskState: 'resize_finish',
      });
      await control.finishResize({ migrationUuid: uuid, destHost: 'host2', confirmDeadline: null });
      await control.setResizeProgress({
        migrationUuid: uuid,
        status: 'reverting',
        taskState: 'resize_reverting',
      });
      await expect(
        control.confirmResize({ migrationUuid: uuid, auto: true }),
      ).rejects.toMatchObject(
        failure('MigrationError', `migration ${uuid} is reverting: it cannot be confirmed`),
      );
      expect(await instance()).toMatchObject({ vmState: 'resized', taskState: 'resize_reverting' });
    });
  });

  describe('revertResize', () => {
    it('puts the instance back on its source with its old flavor and releases every claim', async () => {
      const uuid = await acceptResize('medium');
      await finishOn(uuid, 'host2');
      await control.setResizeProgress({
        migrationUuid: uuid,
        status: 'reverting',
        taskState: 'resize_reverting',
      });
      await control.revertResize({ migrationUuid: uuid, domainXml: '<domain>as before</domain>' });

      expect(await instance()).toMatchObject({
        hostName: 'host1',
        flavorId: 'small',
        domainXml: '<domain>as before</domain>',
        vmState: 'active',
        taskState: null,
        powerState: 'running',
      });
      const reverted = await migrationRow(uuid);
      expect(reverted).toMatchObject({ status: 'reverted', destHost: 'host2' });
      expect(reverted.finishedAt).toBeInstanceOf(Date);
      expect(await claimsOf(uuid)).toEqual([]);
      expect(await memoryUsed()).toMatchObject({ host1: 2048, host2: 0 });
      expect(await eventsOf(uuid)).toEqual([['revert_resize', 'Success']]);
      expect((await actionOf(uuid)).finishTime).toBeInstanceOf(Date);

      await control.revertResize({ migrationUuid: uuid });
      expect(await migrationRow(uuid)).toEqual(reverted);
      await expect(
        control.confirmResize({ migrationUuid: uuid, auto: true }),
      ).rejects.toMatchObject(
        failure(
          'MigrationError',
          `migration ${uuid} already ended as reverted: it cannot be confirmed`,
        ),
      );
    });

    it('reverts a same-host resize to the old flavor, and a stopped instance stays stopped', async () => {
      await stop();
      const uuid = await acceptResize('large');
      await finishOn(uuid, 'host1');
      await control.revertResize({ migrationUuid: uuid });
      expect(await instance()).toMatchObject({
        hostName: 'host1',
        flavorId: 'small',
        vmState: 'active',
        powerState: 'shutdown',
        taskState: null,
      });
      expect((await memoryUsed()).host1).toBe(2048);
    });
  });

  describe('failResize', () => {
    it('before finished: error with the reason, claims released, the instance where it was', async () => {
      const uuid = await acceptResize('medium');
      await begin(uuid);
      await control.claimResources({ migrationUuid: uuid, host: 'host2' });
      await control.setResizeProgress({
        migrationUuid: uuid,
        status: 'migrating',
        taskState: 'resize_migrating',
        destHost: 'host2',
      });
      await control.failResize({
        migrationUuid: uuid,
        error: 'copy of vda failed',
        instanceError: false,
      });

      expect(await instance()).toMatchObject({
        hostName: 'host1',
        flavorId: 'small',
        vmState: 'active',
        taskState: null,
      });
      const failed = await migrationRow(uuid);
      expect(failed).toMatchObject({ status: 'error', error: 'copy of vda failed' });
      expect(failed.finishedAt).toBeInstanceOf(Date);
      expect(await claimsOf(uuid)).toEqual([]);
      expect(await actionOf(uuid)).toMatchObject({ message: 'copy of vda failed' });
      expect((await actionOf(uuid)).finishTime).toBeInstanceOf(Date);

      await control.failResize({ migrationUuid: uuid, error: 'again', instanceError: true });
      expect(await migrationRow(uuid)).toEqual(failed);
      expect((await instance()).vmState).toBe('active');
    });

    it('after a confirm failed: the instance in ERROR on its destination, claims released', async () => {
      const uuid = await acceptResize('medium');
      await finishOn(uuid, 'host2');
      await control.setResizeProgress({
        migrationUuid: uuid,
        status: 'confirming',
        taskState: 'resize_confirming',
      });
      await control.failResize({
        migrationUuid: uuid,
        error: 'confirm_resize failed: host1 did not answer',
        instanceError: true,
      });
      expect(await instance()).toMatchObject({
        hostName: 'host2',
        flavorId: 'medium',
        vmState: 'error',
        taskState: null,
      });
      expect(await migrationRow(uuid)).toMatchObject({
        status: 'error',
        error: 'confirm_resize failed: host1 did not answer',
      });
      expect(await claimsOf(uuid)).toEqual([]);
    });

    it('touches no instance whose resize never began', async () => {
      const holder = await acceptResize('medium');
      await begin(holder);
      const refused = await acceptResize('large');
      await control.failResize({ migrationUuid: refused, error: 'busy', instanceError: true });
      expect(await instance()).toMatchObject({ taskState: 'resize_prep', vmState: 'active' });
      expect(await migrationRow(refused)).toMatchObject({ status: 'error', error: 'busy' });
      expect(await migrationRow(holder)).toMatchObject({ status: 'pre-migrating' });
    });
  });
});
