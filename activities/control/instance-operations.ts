/**
 * An operation's hold on its instance: it begins with a compare-and-set of the instance's
 * task_state, and ends when the migration completes (the instance moves) or fails (it stays).
 */
import {
  type ActionEventRecord,
  FINISHED_MIGRATION_STATUSES,
  type InstanceSnapshot,
} from '../../workflows/operation-types';
import type { MigrationResult } from '../../workflows/live-migration-contract';
import type { Database } from '../../db/database';
import {
  type ActionIds,
  finishInstanceAction,
  openInstanceAction,
  recordActionEvents,
} from './instance-actions';
import { beginRefusal, type BeginnableStates } from './instance-refusal';
import { migrationFailure } from './migration-errors';
import { getMigrationByUuid, isFinished } from './migration-lookup';
import { progressCounters } from './migration-progress';
import { inTransaction } from '../../db/transactions';

/** A live migration begins from an active, running instance. */
const LIVE_MIGRATABLE: BeginnableStates = { vmStates: ['active'], powerStates: ['running'] };

/**
 * Sets the instance's task_state from null to `taskState` when it is active, running, unlocked and
 * on the migration's source host, and opens the migration's InstanceAction, in one transaction.
 * A retry finds the instance in `taskState` with this migration's action open and succeeds again.
 * Fails with InstanceLocked or InstanceInvalidState (naming the state that refused), or
 * MigrationError when the migration already finished.
 */
export async function beginInstanceOperation(
  db: Database,
  request: { migrationUuid: string; taskState: string; action: string; requestedBy: string },
  actionIds?: ActionIds,
): Promise<InstanceSnapshot> {
  const migration = await getMigrationByUuid(db, request.migrationUuid);
  if (isFinished(migration.status)) {
    throw migrationFailure(
      'MigrationError',
      `migration ${migration.uuid} already ended as ${migration.status}`,
    );
  }
  const opened = await inTransaction(db, async (tx) => {
    const { count } = await tx.instance.updateMany({
      where: {
        uuid: migration.instanceUuid,
        taskState: null,
        vmState: { in: LIVE_MIGRATABLE.vmStates },
        powerState: { in: LIVE_MIGRATABLE.powerStates },
        locked: false,
        hostName: migration.sourceHost,
      },
      data: { taskState: request.taskState },
    });
    const instance = await tx.instance.findUniqueOrThrow({
      where: { uuid: migration.instanceUuid },
      include: { flavor: true },
    });
    if (count === 0) {
      const begun =
        instance.taskState === request.taskState &&
        (await tx.instanceAction.count({ where: { requestId: migration.uuid } })) > 0;
      if (!begun) throw beginRefusal(instance, migration.sourceHost, LIVE_MIGRATABLE);
    }
    const actionId = await openInstanceAction(tx, {
      migrationUuid: migration.uuid,
      instanceUuid: instance.uuid,
      action: request.action,
      userId: request.requestedBy,
    });
    const snapshot: InstanceSnapshot = {
      uuid: instance.uuid,
      name: instance.name,
      hostName: instance.hostName,
      flavorId: instance.flavorId,
      size: {
        vcpus: instance.flavor.vcpus,
        memoryMiB: instance.flavor.memoryMiB,
        rootDiskGiB: instance.flavor.rootDiskGiB,
      },
    };
    return { snapshot, actionId };
  });
  actionIds?.remember(migration.uuid, opened.actionId);
  return opened.snapshot;
}

/**
 * In one transaction: the migration completed (destination, finishedAt, downtime, byte counters), the
 * instance is on the destination, running, with task_state null and progress 100, the claims are
 * released and the action is finished. Calling it again for a completed migration does nothing;
 * for a migration that ended otherwise it fails with MigrationError. `events` (the last step's
 * finish) are recorded first, outside the transaction, as recordActionEvents does.
 */
export async function completeLiveMigration(
  db: Database,
  request: {
    migrationUuid: string;
    destHost: string;
    result: MigrationResult;
    events?: ActionEventRecord[];
  },
  actionIds?: ActionIds,
): Promise<void> {
  if (request.events) await recordActionEvents(db, request.events, actionIds);
  const migration = await getMigrationByUuid(db, request.migrationUuid);
  await inTransaction(db, async (tx) => {
    const { count } = await tx.migration.updateMany({
      where: { id: migration.id, status: { notIn: FINISHED_MIGRATION_STATUSES } },
      data: {
        status: 'completed',
        destHost: request.destHost,
        finishedAt: new Date(),
        downtimeMs: request.result.downtimeMs,
        ...progressCounters(request.result.progress),
      },
    });
    if (count === 0) {
      const { status } = await tx.migration.findUniqueOrThrow({ where: { id: migration.id } });
      if (status === 'completed') return;
      throw migrationFailure(
        'MigrationError',
        `migration ${migration.uuid} already ended as ${status}: it cannot complete`,
      );
    }
    await tx.instance.update({
      where: { uuid: migration.instanceUuid },
      data: {
        hostName: request.destHost,
        taskState: null,
        progress: 100,
        powerState: 'running',
        ...(request.result.domainXml === undefined ? {} : { domainXml: request.result.domainXml }),
      },
    });
    await tx.resourceClaim.deleteMany({ where: { migrationId: migration.id } });
    await finishInstanceAction(tx, migration.uuid);
  });
}

/**
 * In one transaction: the migration ended with `status` and `error` (finishedAt set), its claims
 * are released, and, if its operation had begun (its action exists), the action is finished with
 * the error as message and the instance's task_state is cleared (vm_state error too with
 * `instanceError`). A migration that already finished is left as it is, so a retry never clears
 * the task_state of an operation that began since.
 */
export async function failMigration(
  db: Database,
  request: {
    migrationUuid: string;
    status: 'failed' | 'cancelled' | 'error';
    error: string;
    instanceError: boolean;
  },
): Promise<void> {
  const migration = await getMigrationByUuid(db, request.migrationUuid);
  await inTransaction(db, async (tx) => {
    const { count } = await tx.migration.updateMany({
      where: { id: migration.id, status: { notIn: FINISHED_MIGRATION_STATUSES } },
      data: { status: request.status, error: request.error, finishedAt: new Date() },
    });
    if (count === 0) return;
    await tx.resourceClaim.deleteMany({ where: { migrationId: migration.id } });
    if (await finishInstanceAction(tx, migration.uuid, request.error)) {
      await tx.instance.update({
        where: { uuid: migration.instanceUuid },
        data: { taskState: null, ...(request.instanceError ? { vmState: 'error' } : {}) },
      });
    }
  });
}
