/**
 * An evacuation in the database (docs/evacuate.md): it begins with a compare-and-set of the
 * instance's task_state while its host is down, ends with the instance on its destination and the
 * source disabled, or fails with the instance left on its source; once the source answers again
 * and has destroyed its stale domain, the evacuation is completed.
 */
import type { Database } from '../../db/database';
import { evacuationRefusal } from '../../db/evacuation-refusal';
import { inTransaction } from '../../db/transactions';
import type { FerryConfig } from '../../config';
import type {
  EvacuateControlActivities,
  EvacuatedDomain,
  EvacuationPlan,
} from '../../workflows/evacuate-contract';
import { finishInstanceAction, openInstanceAction } from './instance-actions';
import { migrationFailure } from './migration-errors';
import { getMigrationByUuid } from './migration-lookup';

/** Nova's task_state of an instance being evacuated (a rebuild elsewhere). */
const EVACUATING = 'rebuilding';

async function getEvacuation(db: Database, uuid: string) {
  const migration = await getMigrationByUuid(db, uuid);
  if (migration.migrationType !== 'evacuation') {
    throw migrationFailure('MigrationError', `migration ${uuid} is not an evacuation`);
  }
  return migration;
}

export async function beginEvacuation(
  db: Database,
  settings: Pick<FerryConfig, 'serviceDownTimeSeconds'>,
  request: { migrationUuid: string; requestedBy: string },
): Promise<EvacuationPlan> {
  const migration = await getEvacuation(db, request.migrationUuid);
  if (!['accepted', 'pre-migrating'].includes(migration.status)) {
    throw migrationFailure(
      'MigrationError',
      `evacuation ${migration.uuid} is ${migration.status}: it cannot begin`,
    );
  }
  return inTransaction(db, async (tx) => {
    const instance = await tx.instance.findUniqueOrThrow({
      where: { uuid: migration.instanceUuid },
    });
    const source = await tx.host.findUniqueOrThrow({ where: { name: migration.sourceHost } });
    const begun =
      migration.status === 'pre-migrating' &&
      instance.taskState === EVACUATING &&
      instance.hostName === migration.sourceHost;
    if (!begun) {
      if (instance.hostName !== migration.sourceHost) {
        throw migrationFailure(
          'InstanceInvalidState',
          `instance ${instance.name} is on host ${instance.hostName}, not on ${migration.sourceHost}`,
        );
      }
      const refusal = evacuationRefusal(
        instance,
        source,
        new Date(),
        settings.serviceDownTimeSeconds,
      );
      if (refusal) throw migrationFailure(refusal.type, refusal.message);
      const { count } = await tx.instance.updateMany({
        where: { uuid: instance.uuid, taskState: null, hostName: migration.sourceHost },
        data: { taskState: EVACUATING },
      });
      if (count === 0)
        throw new Error(`instance ${instance.name} changed while its evacuation began; retrying`);
      await tx.migration.update({ where: { id: migration.id }, data: { status: 'pre-migrating' } });
      await openInstanceAction(tx, {
        migrationUuid: migration.uuid,
        instanceUuid: instance.uuid,
        action: 'evacuate',
        userId: request.requestedBy,
      });
    }
    return {
      domainXml: instance.domainXml as string,
      wasRunning: instance.powerState === 'running',
      fenceUri: source.forcedDown ? null : source.libvirtUri,
    };
  });
}

export async function evacuationDestinationChosen(
  db: Database,
  request: { migrationUuid: string; destHost: string },
): Promise<void> {
  await db.migration.updateMany({
    where: { uuid: request.migrationUuid, status: { in: ['accepted', 'pre-migrating'] } },
    data: { destHost: request.destHost },
  });
}

export async function finishEvacuation(
  db: Database,
  request: { migrationUuid: string; destHost: string },
): Promise<void> {
  const migration = await getEvacuation(db, request.migrationUuid);
  await inTransaction(db, async (tx) => {
    const { count } = await tx.migration.updateMany({
      where: { id: migration.id, status: 'pre-migrating' },
      data: { status: 'done', destHost: request.destHost, finishedAt: new Date() },
    });
    if (count === 0) {
      const now = await tx.migration.findUniqueOrThrow({ where: { id: migration.id } });
      if (['done', 'completed'].includes(now.status) && now.destHost === request.destHost) return;
      throw migrationFailure(
        'MigrationError',
        `evacuation ${migration.uuid} is ${now.status}: it cannot be done on ${request.destHost}`,
      );
    }
    await tx.instance.update({
      where: { uuid: migration.instanceUuid },
      data: { hostName: request.destHost, taskState: null },
    });
    await tx.resourceClaim.deleteMany({ where: { migrationId: migration.id } });
    await tx.host.updateMany({
      where: { name: migration.sourceHost, state: { not: 'disabled' } },
      data: {
        state: 'disabled',
        disabledReason: 'instances evacuated: enable it once it is repaired',
      },
    });
    await finishInstanceAction(tx, migration.uuid);
  });
}

export async function failEvacuation(
  db: Database,
  request: { migrationUuid: string; error: string },
): Promise<void> {
  const migration = await getEvacuation(db, request.migrationUuid);
  await inTransaction(db, async (tx) => {
    const { count } = await tx.migration.updateMany({
      where: { id: migration.id, status: { in: ['accepted', 'pre-migrating'] } },
      data: { status: 'failed', error: request.error, finishedAt: new Date() },
    });
    if (count === 0) return;
    await tx.resourceClaim.deleteMany({ where: { migrationId: migration.id } });
    if (await finishInstanceAction(tx, migration.uuid, request.error)) {
      await tx.instance.updateMany({
        where: { uuid: migration.instanceUuid, taskState: EVACUATING },
        data: { taskState: null },
      });
    }
  });
}

export async function evacuatedDomains(
  db: Database,
  request: { hosts: string[] },
): Promise<EvacuatedDomain[]> {
  const done = await db.migration.findMany({
    where: { migrationType: 'evacuation', status: 'done', sourceHost: { in: request.hosts } },
    include: { instance: { select: { hostName: true } } },
    orderBy: { id: 'asc' },
  });
  // An instance evacuated back to its old host since is its own again: never destroyed there.
  return done
    .filter((migration) => migration.instance.hostName !== migration.sourceHost)
    .map((migration) => ({
      migrationUuid: migration.uuid,
      instanceUuid: migration.instanceUuid,
      host: migration.sourceHost,
    }));
}

export async function evacuationSourceCleaned(
  db: Database,
  request: { migrationUuid: string },
): Promise<void> {
  await db.migration.updateMany({
    where: { uuid: request.migrationUuid, migrationType: 'evacuation', status: 'done' },
    data: { status: 'completed' },
  });
}

/** The control activities of the evacuate workflow and of the returning source's clean-up. */
export function evacuationControlActivities(
  db: Database,
  settings: Pick<FerryConfig, 'serviceDownTimeSeconds'>,
): EvacuateControlActivities {
  return {
    beginEvacuation: (request) => beginEvacuation(db, settings, request),
    evacuationDestinationChosen: (request) => evacuationDestinationChosen(db, request),
    finishEvacuation: (request) => finishEvacuation(db, request),
    failEvacuation: (request) => failEvacuation(db, request),
    evacuatedDomains: (request) => evacuatedDomains(db, request),
    evacuationSourceCleaned: (request) => evacuationSourceCleaned(db, request),
  };
}
