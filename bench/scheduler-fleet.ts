/**
 * The scheduler benchmark's fleet: 10,000 generated hosts and 20,000 instances in a scratch
 * database, and the timing of selectDestinations over them (bench/scheduler.ts,
 * bench/orchestration.ts).
 */
import { openDatabase, type Database } from '../db/database';
import { readHostStates } from '../db/host-state';
import { migrateDatabase } from '../db/migrate';
import { getMigrationToPlace } from '../activities/control/migration-lookup';
import {
  DESTINATIONS_RETURNED,
  filterHosts,
  selectDestinations,
  weighHosts,
  type RequestSpec,
} from '../activities/control/scheduler';
import { scratchDatabase } from '../test/support/databases';
import { seededRandom } from '../test/support/seeded-random';

export const HOSTS = 10_000;
export const INSTANCES = 20_000;
/** Live migrations in flight: a claim on their destination. */
export const INCOMING_CLAIMS = 400;
/** Resizes on their own host: a claim for the larger flavor there. */
export const SAME_HOST_CLAIMS = 100;
export const GOAL_P95_MS = 50;
const GiB = 1024;

const FLAVORS = [
  { id: 'f-tiny', name: 'm1.tiny', vcpus: 1, memoryMiB: 512, rootDiskGiB: 1 },
  { id: 'f-small', name: 'm1.small', vcpus: 1, memoryMiB: 2 * GiB, rootDiskGiB: 20 },
  { id: 'f-medium', name: 'm1.medium', vcpus: 2, memoryMiB: 4 * GiB, rootDiskGiB: 40 },
  { id: 'f-large', name: 'm1.large', vcpus: 4, memoryMiB: 8 * GiB, rootDiskGiB: 80 },
  { id: 'f-xlarge', name: 'm1.xlarge', vcpus: 8, memoryMiB: 16 * GiB, rootDiskGiB: 160 },
];

/** Host models and their share of the fleet; disk 0 is a host whose disk was never reported. */
const HOST_MODELS = [
  { share: 0.05, vcpus: 4, memoryMiB: 16 * GiB, diskGiB: 100 },
  { share: 0.45, vcpus: 32, memoryMiB: 128 * GiB, diskGiB: 0 },
  { share: 0.35, vcpus: 64, memoryMiB: 256 * GiB, diskGiB: 4000 },
  { share: 0.15, vcpus: 128, memoryMiB: 512 * GiB, diskGiB: 8000 },
];

const hostName = (i: number) => `host${String(i).padStart(5, '0')}`;

/**
 * 10,000 hosts (2 % down, 1 % disabled, 10 % on an older hypervisor), 20,000 instances with
 * flavors spread over them, in-flight claims, and one live migration of instance 0 to schedule.
 * Returns that migration's uuid.
 */
async function populate(db: Database): Promise<string> {
  const random = seededRandom(7);
  const pick = <T>(items: readonly T[]) => items[Math.floor(random() * items.length)];
  const hosts = Array.from({ length: HOSTS }, (_, i) => {
    let at = random();
    const model = HOST_MODELS.find(({ share }) => (at -= share) < 0) ?? HOST_MODELS[1];
    const roll = random();
    return {
      name: hostName(i),
      state: roll < 0.02 ? 'down' : roll < 0.03 ? 'disabled' : 'up',
      disabledReason: roll >= 0.02 && roll < 0.03 ? 'maintenance' : null,
      libvirtUri: `qemu+tcp://${hostName(i)}/system`,
      arch: 'x86_64',
      hypervisorType: 'QEMU',
      // Host 0 is the source: never older than the source itself.
      hypervisorVersion: i > 0 && random() < 0.1 ? 7002000 : 8002000,
      vcpusTotal: model.vcpus,
      memoryMiBTotal: model.memoryMiB,
      diskGiBTotal: model.diskGiB,
    };
  });
  const instances = Array.from({ length: INSTANCES }, (_, i) => ({
    uuid: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
    name: `vm${i}`,
    hostName: i === 0 ? hostName(0) : pick(hosts).name,
    flavorId: i === 0 ? 'f-large' : pick(FLAVORS).id,
  }));
  const flavorOf = new Map(FLAVORS.map((flavor) => [flavor.id, flavor]));
  const migrations = [];
  const claims = [];
  for (let i = 1; i <= INCOMING_CLAIMS + SAME_HOST_CLAIMS; i += 1) {
    const instance = instances[i];
    const sameHost = i > INCOMING_CLAIMS;
    const newFlavor = sameHost ? FLAVORS[FLAVORS.length - 1] : flavorOf.get(instance.flavorId)!;
    migrations.push({
      id: i,
      uuid: `00000000-0000-4000-9000-${String(i).padStart(12, '0')}`,
      instanceUuid: instance.uuid,
      migrationType: sameHost ? 'resize' : 'live-migration',
      status: sameHost ? 'migrating' : 'running',
      sourceHost: instance.hostName,
      destHost: sameHost ? instance.hostName : hostName(1 + (i % (HOSTS - 1))),
      oldFlavorId: instance.flavorId,
      newFlavorId: newFlavor.id,
      workflowId: `bench-${i}`,
    });
    claims.push({
      hostName: migrations[migrations.length - 1].destHost,
      instanceUuid: instance.uuid,
      migrationId: i,
      vcpus: newFlavor.vcpus,
      memoryMiB: newFlavor.memoryMiB,
      diskGiB: newFlavor.rootDiskGiB,
    });
  }
  const scheduled = {
    id: migrations.length + 1,
    uuid: '00000000-0000-4000-9000-999999999999',
    instanceUuid: instances[0].uuid,
    migrationType: 'live-migration',
    status: 'accepted',
    sourceHost: hostName(0),
    destHost: null,
    oldFlavorId: 'f-large',
    newFlavorId: 'f-large',
    workflowId: 'bench-scheduled',
  };
  await db.flavor.createMany({ data: FLAVORS });
  await db.host.createMany({ data: hosts });
  await db.instance.createMany({ data: instances });
  await db.migration.createMany({ data: [...migrations, scheduled] });
  await db.resourceClaim.createMany({ data: claims });
  return scheduled.uuid;
}

export interface Stats {
  runs: number;
  p50Ms: number;
  p95Ms: number;
  maxMs: number;
}

/** Nearest-rank percentiles of `runs` timed calls, after one untimed call. */
async function measure(
  label: string,
  runs: number,
  run: () => unknown | Promise<unknown>,
): Promise<Stats> {
  await run();
  const ms: number[] = [];
  for (let i = 0; i < runs; i += 1) {
    const started = process.hrtime.bigint();
    await run();
    ms.push(Number(process.hrtime.bigint() - started) / 1e6);
  }
  ms.sort((a, b) => a - b);
  const percentile = (p: number) => ms[Math.ceil((p / 100) * ms.length) - 1];
  const round = (value: number) => Math.round(value * 100) / 100;
  const stats = {
    runs,
    p50Ms: round(percentile(50)),
    p95Ms: round(percentile(95)),
    maxMs: round(ms[ms.length - 1]),
  };
  process.stderr.write(`${label}: ${JSON.stringify(stats)}\n`);
  return stats;
}

/** The request selectDestinations makes for the migration, with the HostStates it reads. */
async function requestSpec(db: Database, migrationUuid: string) {
  const migration = await getMigrationToPlace(db, migrationUuid);
  const hosts = await readHostStates(db, {
    excludeMigrationId: migration.id,
    excludeInstanceUuid: migration.instanceUuid,
  });
  const spec: RequestSpec = {
    instanceName: migration.instanceName,
    sourceHost: migration.sourceHost,
    source: hosts.find((host) => host.name === migration.sourceHost),
    ignoreHosts: [],
    allowSameHost: false,
    needs: migration.needs,
  };
  return { hosts, spec };
}

/** Populates a scratch database of the provider, then times selectDestinations (and pure). */
export async function benchScheduler(
  provider: 'sqlite' | 'postgresql',
  runs: { pure: number; db: number },
): Promise<{ pure?: Stats; db: Stats }> {
  const scratch = await scratchDatabase(provider);
  try {
    await migrateDatabase(scratch.url);
    const db = await openDatabase(scratch.url);
    try {
      const started = Date.now();
      const migrationUuid = await populate(db);
      // A fleet's database has statistics (autovacuum analyzes a table within a minute of this
      // many changes); without them PostgreSQL plans the query for empty tables.
      if (provider === 'postgresql') await db.$executeRawUnsafe('ANALYZE');
      process.stderr.write(`${provider}: populated in ${Date.now() - started} ms\n`);
      const request = { migrationUuid, requestedHost: null, exclude: [] };
      const chosen = await selectDestinations(db, request);
      process.stderr.write(`${provider}: ${chosen.length} destinations, best ${chosen[0]}\n`);
      let pure: Stats | undefined;
      if (provider === 'sqlite') {
        const { hosts, spec } = await requestSpec(db, migrationUuid);
        const weighed = weighHosts(filterHosts(hosts, spec).passed).map(({ name }) => name);
        if (weighed.slice(0, DESTINATIONS_RETURNED).join() !== chosen.join()) {
          throw new Error('filter+weigh in memory disagrees with selectDestinations');
        }
        pure = await measure('pure', runs.pure, () => weighHosts(filterHosts(hosts, spec).passed));
      }
      return { pure, db: await measure(provider, runs.db, () => selectDestinations(db, request)) };
    } finally {
      await db.$disconnect();
    }
  } finally {
    await scratch.drop();
  }
}
