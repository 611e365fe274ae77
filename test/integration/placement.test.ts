/**
 * The scheduler's query (placement.ts) against the pure filters and weigher it stands in for: on
 * generated fleets with every kind of refusal, ties and names that sort differently under a
 * locale's collation (the PostgreSQL database has en-US's), both must choose the same hosts in the
 * same order, on both providers.
 */
import { openDatabase, type Database } from '../../db/database';
import { flavorResources, readHostStates } from '../../db/host-state';
import { migrateDatabase } from '../../db/migrate';
import { placeInstance, readHostCapacity } from '../../activities/control/placement';
import { filterHosts, weighHosts, type RequestSpec } from '../../activities/control/scheduler';
import { scratchDatabase, type ScratchDatabase } from '../support/databases';
import { seededRandom } from '../support/seeded-random';

const FLAVORS = [
  { id: 'tiny', name: 'tiny', vcpus: 1, memoryMiB: 512, rootDiskGiB: 1 },
  { id: 'small', name: 'small', vcpus: 2, memoryMiB: 2048, rootDiskGiB: 20 },
  { id: 'large', name: 'large', vcpus: 8, memoryMiB: 8192, rootDiskGiB: 80 },
];

/** Names whose order differs between code points and a locale's collation. */
const NAMES = ['Zeta', 'alpha', 'Alpha', 'beta-1', 'beta_1', 'beta1', 'host10', 'host9'];

async function populate(db: Database) {
  const random = seededRandom(11);
  const pick = <T>(items: readonly T[]) => items[Math.floor(random() * items.length)];
  await db.flavor.createMany({ data: FLAVORS });
  const hosts = Array.from({ length: 120 }, (_, i) => {
    const roll = random();
    const odd = () => random() < 0.04;
    return {
      name: i < NAMES.length ? NAMES[i] : `node${String(i).padStart(3, '0')}`,
      libvirtUri: `qemu+tcp://10.0.1.${i}/system`,
      state: roll < 0.04 ? 'down' : roll < 0.08 ? 'disabled' : 'up',
      arch: odd() ? null : odd() ? 'aarch64' : 'x86_64',
      hypervisorType: odd() ? null : odd() ? 'Xen' : 'QEMU',
      hypervisorVersion: odd() ? null : random() < 0.08 ? 7_002_000 : 8_002_000,
      // Many hosts of one model and nothing on them: equal weights, decided by name.
      vcpusTotal: i < 20 ? 16 : pick([0, 8, 32, 64]),
      memoryMiBTotal: i < 20 ? 16_384 : pick([0, 8192, 32_768, 65_536]),
      diskGiBTotal: i < 20 ? 0 : pick([0, 60, 500]),
    };
  });
  await db.host.createMany({ data: hosts });
  const loaded = hosts.slice(20);
  const instances = Array.from({ length: 200 }, (_, i) => ({
    uuid: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
    name: `vm${i}`,
    hostName: i === 0 ? 'node030' : pick(loaded).name,
    flavorId: i === 0 ? 'small' : pick(FLAVORS).id,
  }));
  await db.instance.createMany({ data: instances });
  const migrations = instances.slice(0, 60).map((instance, i) => {
    // Half of them resizes on their own host (to the largest flavor), half incoming migrations.
    const sameHost = i % 2 === 1;
    return {
      id: i + 1,
      uuid: `00000000-0000-4000-9000-${String(i).padStart(12, '0')}`,
      instanceUuid: instance.uuid,
      migrationType: sameHost ? 'resize' : 'live-migration',
      status: 'running',
      sourceHost: instance.hostName,
      destHost: sameHost ? instance.hostName : pick(loaded).name,
      oldFlavorId: instance.flavorId,
      newFlavorId: sameHost ? 'large' : instance.flavorId,
      workflowId: `placement-${i}`,
    };
  });
  await db.migration.createMany({ data: migrations });
  const flavorOf = new Map(FLAVORS.map((flavor) => [flavor.id, flavor]));
  await db.resourceClaim.createMany({
    data: migrations.map((migration) => {
      const size = flavorResources(flavorOf.get(migration.newFlavorId)!);
      return {
        hostName: migration.destHost,
        instanceUuid: migration.instanceUuid,
        migrationId: migration.id,
        vcpus: size.vcpus,
        memoryMiB: size.memoryMiB,
        diskGiB: size.diskGiB,
      };
    }),
  });
}

describe.each(['sqlite', 'postgresql'] as const)('placement on %s', (provider) => {
  let scratch: ScratchDatabase;
  let db: Database;

  beforeAll(async () => {
    scratch = await scratchDatabase(provider, { icuLocale: 'en-US' });
    await migrateDatabase(scratch.url);
    db = await openDatabase(scratch.url);
    await populate(db);
  });

  afterAll(async () => {
    await db.$disconnect();
    await scratch.drop();
  });

  const requests = [
    { label: 'a small live migration', flavor: 'small', ignore: [], sameHost: false },
    { label: 'a large one, two hosts excluded', flavor: 'large', ignore: ['Zeta', 'alpha'] },
    { label: 'a resize that may stay', flavor: 'large', ignore: [], sameHost: true },
    { label: 'a tiny one', flavor: 'tiny', ignore: ['node031'], sameHost: false },
  ];

  async function expectAgreement(request: (typeof requests)[number]) {
    // Instance 0 (on node030) holding migration 1's claim: both left out of the usage.
    const exclusions = {
      excludeMigrationId: 1,
      excludeInstanceUuid: '00000000-0000-4000-8000-000000000000',
    };
    const hosts = await readHostStates(db, exclusions);
    const spec: RequestSpec = {
      instanceName: 'vm0',
      sourceHost: 'node030',
      source: hosts.find((host) => host.name === 'node030'),
      ignoreHosts: request.ignore,
      allowSameHost: request.sameHost,
      needs: flavorResources(FLAVORS.find((flavor) => flavor.id === request.flavor)!),
    };
    // The claim's one-host read counts as readHostStates does, host by host.
    for (const host of hosts) {
      expect(await readHostCapacity(db, host.name, exclusions)).toEqual({
        name: host.name,
        total: host.total,
        used: host.used,
      });
    }
    const { passed, refused } = filterHosts(hosts, spec);
    const expected = weighHosts(passed).map((host) => host.name);
    // A comparison worth making: hosts pass and hosts are refused, by more than one filter.
    expect(passed.length).toBeGreaterThan(20);
    expect(new Set(refused.map((refusal) => refusal.filter)).size).toBeGreaterThan(3);

    const all = await placeInstance(db, { ...spec, ...exclusions, limit: 1000 });
    expect(all).toEqual(expected);
    const best = await placeInstance(db, { ...spec, ...exclusions, limit: 3 });
    expect(best).toEqual(expected.slice(0, 3));
  }

  it.each(requests)('chooses what the filters and the weigher choose: $label', expectAgreement);

  it('keeps HostUsage equal to its instances through moves, resizes, deletes and creates', async () => {
    const uuid = (i: number) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`;
    // Instances 100-137 move to node040, 138 and 139 swap hosts in one transaction, 140-159
    // resize to large, 160-179 are deleted, and 20 new ones land on node041.
    await db.instance.updateMany({
      where: { uuid: { in: Array.from({ length: 38 }, (_, i) => uuid(100 + i)) } },
      data: { hostName: 'node040' },
    });
    const [a, b] = await db.instance.findMany({ where: { uuid: { in: [uuid(138), uuid(139)] } } });
    await db.$transaction([
      db.instance.update({ where: { uuid: a.uuid }, data: { hostName: b.hostName } }),
      db.instance.update({ where: { uuid: b.uuid }, data: { hostName: a.hostName } }),
    ]);
    for (let i = 140; i < 160; i += 1) {
      await db.instance.update({ where: { uuid: uuid(i) }, data: { flavorId: 'large' } });
    }
    await db.instance.deleteMany({
      where: { uuid: { in: Array.from({ length: 20 }, (_, i) => uuid(160 + i)) } },
    });
    await db.instance.createMany({
      data: Array.from({ length: 20 }, (_, i) => ({
        uuid: uuid(200 + i),
        name: `vm${200 + i}`,
        hostName: 'node041',
        flavorId: FLAVORS[i % FLAVORS.length].id,
      })),
    });

    const instances = await db.instance.findMany({ include: { flavor: true } });
    const expected = new Map<
      string,
      { instances: number; vcpus: number; memoryMiB: number; diskGiB: number }
    >();
    for (const { hostName, flavor } of instances) {
      const sum = expected.get(hostName) ?? { instances: 0, vcpus: 0, memoryMiB: 0, diskGiB: 0 };
      expected.set(hostName, {
        instances: sum.instances + 1,
        vcpus: sum.vcpus + flavor.vcpus,
        memoryMiB: sum.memoryMiB + flavor.memoryMiB,
        diskGiB: sum.diskGiB + flavor.rootDiskGiB,
      });
    }
    const usage = await db.hostUsage.findMany();
    expect(new Map(usage.map(({ hostName, ...sums }) => [hostName, sums]))).toEqual(expected);
    for (const request of requests) await expectAgreement(request);
  });
});
