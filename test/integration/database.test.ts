import { createHash } from 'node:crypto';
import { openDatabase, type Database } from '../../db/database';
import { migrateDatabase } from '../../db/migrate';
import { scratchDatabase, type ScratchDatabase } from '../support/databases';

const MIGRATIONS = [
  '20261123000000_init',
  '20261206000000_host_usage',
  '20261206100000_drains',
  '20261206120000_host_forced_down',
  '20261206200000_migration_downtime',
  '20261206210000_instance_domain_xml',
];

describe.each(['sqlite', 'postgresql'] as const)('upgrading a database on %s', (provider) => {
  it('adds up the usage of the instances it already holds, and fixes flavor sizes', async () => {
    const scratch = await scratchDatabase(provider);
    try {
      expect(await migrateDatabase(scratch.url, { through: MIGRATIONS[0] })).toEqual([
        MIGRATIONS[0],
      ]);
      const db = await openDatabase(scratch.url);
      try {
        // Hosts as the first schema has them: the client's model has columns added since.
        for (const name of ['hostA', 'hostB', 'hostC']) {
          await db.$executeRawUnsafe(
            `INSERT INTO "Host" ("name", "libvirtUri", "updatedAt") VALUES ($1, $2, CURRENT_TIMESTAMP)`,
            name,
            `qemu+tcp://${name}/system`,
          );
        }
        await db.flavor.createMany({
          data: [
            { id: 'small', name: 'small', vcpus: 1, memoryMiB: 512, rootDiskGiB: 1 },
            { id: 'large', name: 'large', vcpus: 4, memoryMiB: 8192, rootDiskGiB: 40 },
          ],
        });
        await db.instance.createMany({
          data: [
            ['hostA', 'small'],
            ['hostA', 'large'],
            ['hostB', 'large'],
          ].map(([hostName, flavorId], i) => ({
            uuid: `b0000000-0000-4000-8000-00000000000${i}`,
            name: `vm${i}`,
            hostName,
            flavorId,
          })),
        });
        expect(await migrateDatabase(scratch.url)).toEqual(MIGRATIONS.slice(1));
        expect(await db.hostUsage.findMany({ orderBy: { hostName: 'asc' } })).toEqual([
          { hostName: 'hostA', instances: 2, vcpus: 5, memoryMiB: 8704, diskGiB: 41 },
          { hostName: 'hostB', instances: 1, vcpus: 4, memoryMiB: 8192, diskGiB: 40 },
        ]);
        // What it counts cannot change under it.
        await expect(
          db.$executeRawUnsafe(`UPDATE "Flavor" SET "memoryMiB" = 1024 WHERE "id" = 'small'`),
        ).rejects.toThrow(/sizes never change/);
        await db.flavor.update({ where: { id: 'small' }, data: { name: 'm1.small' } });
      } finally {
        await db.$disconnect();
      }
    } finally {
      await scratch.drop();
    }
  });
});

describe.each(['sqlite', 'postgresql'] as const)('the data layer on %s', (provider) => {
  let scratch: ScratchDatabase;
  let db: Database;

  beforeAll(async () => {
    scratch = await scratchDatabase(provider);
    expect(await migrateDatabase(scratch.url)).toEqual(MIGRATIONS);
    db = await openDatabase(scratch.url);
  });

  afterAll(async () => {
    await db?.$disconnect();
    await scratch?.drop();
  });

  it('applies migrations once: a second run applies nothing', async () => {
    expect(await migrateDatabase(scratch.url)).toEqual([]);
    const rows = await db.$queryRawUnsafe<{ migration_name: string; checksum: string }[]>(
      'SELECT migration_name, checksum FROM _prisma_migrations',
    );
    expect(rows).toHaveLength(MIGRATIONS.length);
    for (const row of rows) expect(row.checksum).toMatch(/^[0-9a-f]{64}$/);
  });

  it('refuses a migration history it does not know', async () => {
    await db.$executeRawUnsafe(
      `INSERT INTO _prisma_migrations (id, checksum, migration_name, started_at, finished_at, applied_steps_count)
       VALUES ('x', '${createHash('sha256').update('x').digest('hex')}', '29990101000000_future', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, 1)`,
    );
    await expect(migrateDatabase(scratch.url)).rejects.toThrow(/29990101000000_future/);
    await db.$executeRawUnsafe(`DELETE FROM _prisma_migrations WHERE id = 'x'`);
  });

  it('stores the whole model and keeps its keys unique', async () => {
    await db.host.create({ data: { name: 'hostA', libvirtUri: 'qemu+tcp://10.0.0.1/system' } });
    await db.host.create({ data: { name: 'hostB', libvirtUri: 'qemu+tcp://10.0.0.2/system' } });
    await expect(
      db.host.create({ data: { name: 'hostA', libvirtUri: 'test:///default' } }),
    ).rejects.toThrow(/Unique constraint/);

    await db.flavor.create({
      data: { id: 'm1.small', name: 'm1.small', vcpus: 1, memoryMiB: 512, rootDiskGiB: 1 },
    });
    await db.flavor.create({
      data: { id: 'm1.medium', name: 'm1.medium', vcpus: 2, memoryMiB: 1024, rootDiskGiB: 2 },
    });
    const instance = await db.instance.create({
      data: {
        uuid: 'a0000000-0000-4000-8000-000000000001',
        name: 'vm1',
        hostName: 'hostA',
        flavorId: 'm1.small',
      },
    });
    expect(instance).toMatchObject({ vmState: 'active', taskState: null, powerState: 'running' });
    await expect(
      db.instance.create({
        data: {
          uuid: 'a0000000-0000-4000-8000-000000000002',
          name: 'vm1',
          hostName: 'hostB',
          flavorId: 'm1.small',
        },
      }),
    ).rejects.toThrow(/Unique constraint/);

    const migration = await db.migration.create({
      data: {
        uuid: 'b0000000-0000-4000-8000-000000000001',
        instanceUuid: instance.uuid,
        migrationType: 'resize',
        status: 'pre-migrating',
        sourceHost: 'hostA',
        destHost: 'hostB',
        oldFlavorId: 'm1.small',
        newFlavorId: 'm1.medium',
        workflowId: 'instance-vm1',
        memoryTotalBytes: 5n * 2n ** 40n,
      },
    });
    expect(migration.id).toBeGreaterThan(0);
    expect(
      (await db.migration.findUniqueOrThrow({ where: { id: migration.id } })).memoryTotalBytes,
    ).toBe(5n * 2n ** 40n);

    await db.resourceClaim.create({
      data: {
        hostName: 'hostB',
        instanceUuid: instance.uuid,
        migrationId: migration.id,
        vcpus: 2,
        memoryMiB: 1024,
        diskGiB: 2,
      },
    });
    await expect(
      db.resourceClaim.create({
        data: {
          hostName: 'hostB',
          instanceUuid: instance.uuid,
          migrationId: migration.id,
          vcpus: 2,
          memoryMiB: 1024,
          diskGiB: 2,
        },
      }),
    ).rejects.toThrow(/Unique constraint/);

    const action = await db.instanceAction.create({
      data: { instanceUuid: instance.uuid, action: 'resize', requestId: 'instance-vm1/run-1' },
    });
    await db.instanceActionEvent.create({
      data: { actionId: action.id, event: 'compute_prep_resize' },
    });
    await expect(
      db.instanceActionEvent.create({
        data: { actionId: action.id, event: 'compute_prep_resize' },
      }),
    ).rejects.toThrow(/Unique constraint/);

    const read = await db.instance.findUniqueOrThrow({
      where: { uuid: instance.uuid },
      include: {
        migrations: { include: { claims: true } },
        actions: { include: { events: true } },
      },
    });
    expect(read.migrations[0].claims[0]).toMatchObject({ hostName: 'hostB', memoryMiB: 1024 });
    expect(read.actions[0].events.map((e) => e.event)).toEqual(['compute_prep_resize']);
  });

  it('refuses a row that points at something missing', async () => {
    await expect(
      db.instance.create({
        data: {
          uuid: 'a0000000-0000-4000-8000-000000000009',
          name: 'orphan',
          hostName: 'nohost',
          flavorId: 'm1.small',
        },
      }),
    ).rejects.toThrow(/Foreign key constraint/);
  });
});
