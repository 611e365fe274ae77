/**
 * The drain's control activities on a real database, SQLite and PostgreSQL: the plan (every
 * reason an instance stays), the dry run's destinations with nothing written, beginDrain's host
 * state and idempotency, each move's Migration, and the return's plan of what a drain moved.
 */
import { randomUUID } from 'node:crypto';
import { drainControlActivities } from '../../activities/control/drain-control';
import { openDatabase, type Database } from '../../db/database';
import { migrateDatabase } from '../../db/migrate';
import type { DrainControlActivities, DrainItem } from '../../workflows/drain-contract';
import { scratchDatabase, type ScratchDatabase } from '../support/databases';

const config = {
  maxConcurrentLiveMigrations: 3,
  schedulerMaxAttempts: 4,
  shutdownTimeoutSeconds: 30,
};

describe.each(['sqlite', 'postgresql'] as const)('drain control activities on %s', (provider) => {
  let scratch: ScratchDatabase;
  let db: Database;
  let drains: DrainControlActivities;

  beforeAll(async () => {
    scratch = await scratchDatabase(provider);
    await migrateDatabase(scratch.url);
    db = await openDatabase(scratch.url);
    drains = drainControlActivities(db, config);
  });

  afterAll(async () => {
    await db?.$disconnect();
    await scratch?.drop();
  });

  beforeEach(async () => {
    await db.drain.deleteMany();
    await db.resourceClaim.deleteMany();
    await db.migration.deleteMany();
    await db.instance.deleteMany();
    await db.flavor.deleteMany();
    await db.host.deleteMany();
    const size = { arch: 'x86_64', vcpusTotal: 8, memoryMiBTotal: 8192, diskGiBTotal: 100 };
    await db.host.createMany({
      data: [
        { name: 'src', libvirtUri: 'test:///src', ...size },
        { name: 'dst', libvirtUri: 'test:///dst', ...size },
        { name: 'small', libvirtUri: 'test:///small', ...size, memoryMiBTotal: 512 },
      ],
    });
    await db.flavor.create({
      data: { id: 'm1', name: 'm1', vcpus: 1, memoryMiB: 1024, rootDiskGiB: 1 },
    });
    const instances: [string, object][] = [
      ['running', {}],
      ['stopped', { powerState: 'shutdown' }],
      ['locked', { locked: true }],
      ['busy', { taskState: 'resize_prep' }],
      ['broken', { vmState: 'error' }],
      ['paused', { powerState: 'paused' }],
      ['skipped', {}],
    ];
    for (const [name, state] of instances) {
      await db.instance.create({
        data: { uuid: randomUUID(), name, hostName: 'src', flavorId: 'm1', ...state },
      });
    }
  });

  const byName = (items: DrainItem[]) =>
    Object.fromEntries(items.map((item) => [item.instanceName, item]));

  const begin = (kind: 'drain' | 'return', drainUuid = randomUUID()) =>
    drains.beginDrain({
      drainUuid,
      host: 'src',
      kind,
      concurrency: null,
      attempts: 3,
      deadline: null,
      exclude: kind === 'drain' ? ['skipped'] : [],
      workflowId: 'drain-src',
      requestedBy: 'test',
    });

  it('plans live for running, cold for stopped, and says why each other one stays', async () => {
    const items = byName(await drains.planHostDrain({ host: 'src', exclude: ['skipped'] }));
    expect(items.running).toMatchObject({ action: 'live', state: 'planned', destHost: 'dst' });
    expect(items.stopped).toMatchObject({ action: 'cold', state: 'planned', destHost: 'dst' });
    expect(items.locked).toMatchObject({
      action: 'none',
      state: 'left',
      reason: 'instance locked is locked',
    });
    expect(items.busy.reason).toBe(
      'instance busy is in task_state resize_prep: another operation is in progress',
    );
    expect(items.broken.reason).toBe('instance broken is in ERROR');
    expect(items.paused.reason).toMatch(/^instance paused is active\/paused: migration needs/);
    expect(items.skipped).toMatchObject({ action: 'none', reason: 'excluded' });
    // The dry run wrote nothing: the host is up, no drain, no migration, no claim.
    expect(await db.host.findUniqueOrThrow({ where: { name: 'src' } })).toMatchObject({
      state: 'up',
    });
    expect(await db.drain.count()).toBe(0);
    expect(await db.migration.count()).toBe(0);
    expect(await db.resourceClaim.count()).toBe(0);
  });

  it('disables the host, records the drain once, and takes the configured concurrency', async () => {
    const drainUuid = randomUUID();
    const first = await begin('drain', drainUuid);
    const again = await begin('drain', drainUuid);
    expect(again).toEqual(first);
    expect(first.concurrency).toBe(3);
    expect(await db.host.findUniqueOrThrow({ where: { name: 'src' } })).toMatchObject({
      state: 'disabled',
      disabledReason: 'draining',
    });
    const row = await db.drain.findUniqueOrThrow({
      where: { uuid: drainUuid },
      include: { items: true },
    });
    expect(row).toMatchObject({ status: 'running', kind: 'drain', exclude: '["skipped"]' });
    expect(row.items).toHaveLength(7);
  });

  it("records each move's Migration, and refuses an instance that changed since the plan", async () => {
    const drainUuid = randomUUID();
    const items = byName((await begin('drain', drainUuid)).items);
    const live = await drains.startDrainMove({
      drainUuid,
      instanceUuid: items.running.instanceUuid,
      attempt: 1,
      action: 'live',
      requestedHost: null,
    });
    if ('refused' in live || live.workflowType !== 'liveMigration') throw new Error('refused');
    expect(live.input).toMatchObject({ sourceHost: 'src', schedulerMaxAttempts: 4 });
    expect(
      await db.migration.findUniqueOrThrow({ where: { uuid: live.migrationUuid } }),
    ).toMatchObject({
      migrationType: 'live-migration',
      status: 'accepted',
      workflowId: `instance-${items.running.instanceUuid}`,
    });
    // The same attempt again (the activity retried): the Migration recorded, not another.
    const retried = await drains.startDrainMove({
      drainUuid,
      instanceUuid: items.running.instanceUuid,
      attempt: 1,
      action: 'live',
      requestedHost: null,
    });
    expect(retried).toEqual(live);
    expect(await db.migration.count({ where: { instanceUuid: items.running.instanceUuid } })).toBe(
      1,
    );
    const cold = await drains.startDrainMove({
      drainUuid,
      instanceUuid: items.stopped.instanceUuid,
      attempt: 1,
      action: 'cold',
      requestedHost: null,
    });
    if ('refused' in cold || cold.workflowType !== 'resize') throw new Error('refused');
    expect(cold.input).toMatchObject({ migrationType: 'migration', confirmAtOnce: true });

    await db.instance.update({
      where: { uuid: items.running.instanceUuid },
      data: { locked: true },
    });
    expect(
      await drains.startDrainMove({
        drainUuid,
        instanceUuid: items.running.instanceUuid,
        attempt: 2,
        action: 'live',
        requestedHost: null,
      }),
    ).toEqual({ refused: 'instance running is locked' });
    await drains.discardDrainMove({ migrationUuid: live.migrationUuid });
    expect(await db.migration.count({ where: { uuid: live.migrationUuid } })).toBe(0);
  });

  it('plans the return of what the drain moved and is still where it put it', async () => {
    const drainUuid = randomUUID();
    const items = byName((await begin('drain', drainUuid)).items);
    const moved = (item: DrainItem, destHost: string): DrainItem => ({
      ...item,
      state: 'moved',
      destHost,
      attempts: 1,
    });
    await drains.recordDrainItems({
      drainUuid,
      items: [moved(items.running, 'dst'), moved(items.stopped, 'dst')],
    });
    await drains.finishDrain({ drainUuid, status: 'incomplete' });
    // running is where the drain put it; stopped has moved on since.
    await db.instance.update({
      where: { uuid: items.running.instanceUuid },
      data: { hostName: 'dst' },
    });
    await db.instance.update({
      where: { uuid: items.stopped.instanceUuid },
      data: { hostName: 'small' },
    });

    const returnUuid = randomUUID();
    const plan = await begin('return', returnUuid);
    expect(plan.items).toEqual([
      expect.objectContaining({
        instanceName: 'running',
        action: 'live',
        state: 'planned',
        requestedHost: 'src',
      }),
    ]);
    expect(await db.host.findUniqueOrThrow({ where: { name: 'src' } })).toMatchObject({
      state: 'up',
      disabledReason: null,
    });
    await drains.finishDrain({ drainUuid: returnUuid, status: 'completed' });
    const drained = await db.drain.findUniqueOrThrow({ where: { uuid: drainUuid } });
    expect(drained.status).toBe('incomplete');
    expect(drained.returnedAt).not.toBeNull();
  });
});
