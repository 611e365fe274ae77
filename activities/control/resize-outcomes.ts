/**
 * How a resize or cold migration ends in the database: confirmed (the instance stays on its
 * destination), reverted (back on its source with its old flavor) or error. Each ends the
 * migration and its action and releases every claim, in one transaction.
 */
import type { ResizeStatus } from '../../workflows/resize-contract';
import type { Database } from '../../db/database';
import { finishInstanceAction } from './instance-actions';
import { FINISHED_MIGRATION_STATUSES } from '../../workflows/operation-types';
import {
  currentStatus,
  getResizeMigration,
  recordSucceededEvent,
  refusedStep,
  type ResizeMigration,
} from './resize-lookup';
import { inTransaction, type DatabaseClient } from '../../db/transactions';

/**
 * Moves the migration from one of `from` to `to` (finishedAt now); false when it already is `to`
 * (a repeated call), MigrationError when it is in any other status.
 */
async function endFrom(
  tx: DatabaseClient,
  migration: ResizeMigration,
  from: ResizeStatus[],
  to: ResizeStatus,
  what: string,
): Promise<boolean> {
  const { count } = await tx.migration.updateMany({
    where: { id: migration.id, status: { in: from } },
    data: { status: to, finishedAt: new Date() },
  });
  if (count > 0) return true;
  const status = await currentStatus(tx, migration.id);
  if (status === to) return false;
  throw refusedStep(migration.uuid, status, what);
}

/**
 * In one transaction: the resize confirmed (from finished or confirming), the instance active
 * with task_state null where it is (its power_state as it was), every claim of the migration
 * released (the old flavor's on the source), the event `auto_confirm` (the window passed) or
 * `confirm_resize` (a user) recorded with Success, the action finished. A repeated call does
 * nothing; a migration in any other status fails with MigrationError.
 */
export async function confirmResize(
  db: Database,
  request: { migrationUuid: string; auto: boolean },
): Promise<void> {
  const migration = await getResizeMigration(db, request.migrationUuid);
  await inTransaction(db, async (tx) => {
    if (!(await endFrom(tx, migration, ['finished', 'confirming'], 'confirmed', 'be confirmed'))) {
      return;
    }
    await tx.instance.update({
      where: { uuid: migration.instanceUuid },
      data: { vmState: 'active', taskState: null },
    });
    await tx.resourceClaim.deleteMany({ where: { migrationId: migration.id } });
    await recordSucceededEvent(
      tx,
      migration.uuid,
      request.auto ? 'auto_confirm' : 'confirm_resize',
    );
    await finishInstanceAction(tx, migration.uuid);
  });
}

/**
 * In one transaction: the resize reverted (from finished or reverting), the instance back on the
 * source host with the old flavor, active with task_state null (its power_state as it was: the
 * workflow starts only an instance that was running), every claim released, the event
 * `revert_resize` recorded with Success, the action finished. A repeated call does nothing; a
 * migration in any other status fails with MigrationError.
 */
export async function revertResize(
  db: Database,
  request: { migrationUuid: string; domainXml?: string },
): Promise<void> {
  const migration = await getResizeMigration(db, request.migrationUuid);
  await inTransaction(db, async (tx) => {
    if (!(await endFrom(tx, migration, ['finished', 'reverting'], 'reverted', 'be reverted'))) {
      return;
    }
    await tx.instance.update({
      where: { uuid: migration.instanceUuid },
      data: {
        hostName: migration.sourceHost,
        flavorId: migration.oldFlavorId,
        vmState: 'active',
        taskState: null,
        ...(request.domainXml === undefined ? {} : { domainXml: request.domainXml }),
      },
    });
    await tx.resourceClaim.deleteMany({ where: { migrationId: migration.id } });
    await recordSucceededEvent(tx, migration.uuid, 'revert_resize');
    await finishInstanceAction(tx, migration.uuid);
  });
}

/**
 * In one transaction: the migration ended as error with the reason (finishedAt now), its claims
 * released, and, if its operation had begun, its action finished with the reason and the
 * instance's task_state cleared (vm_state error too with `instanceError`); host and flavor are
 * left as they are. A repeated call does nothing (the first reason is kept); a migration that
 * ended otherwise (confirmed, reverted) fails with MigrationError.
 */
export async function failResize(
  db: Database,
  request: { migrationUuid: string; error: string; instanceError: boolean },
): Promise<void> {
  const migration = await getResizeMigration(db, request.migrationUuid);
  await inTransaction(db, async (tx) => {
    const { count } = await tx.migration.updateMany({
      where: { id: migration.id, status: { notIn: FINISHED_MIGRATION_STATUSES } },
      data: { status: 'error', error: request.error, finishedAt: new Date() },
    });
    if (count === 0) {
      const status = await currentStatus(tx, migration.id);
      if (status === 'error') return;
      throw refusedStep(migration.uuid, status, 'fail');
    }
    await tx.resourceClaim.deleteMany({ where: { migrationId: migration.id } });
    if (await finishInstanceAction(tx, migration.uuid, request.error)) {
      await tx.instance.update({
        where: { uuid: migration.instanceUuid },
        data: { taskState: null, ...(request.instanceError ? { vmState: 'error' } : {}) },
      });
    }
  });
}
