/**
 * What the resize control activities share: the Migration row of a resize or cold migration, the
 * refusal of a step its status does not allow, and the checks and records every step makes.
 */
import type { ResizeStatus } from '../../workflows/resize-contract';
import { migrationFailure } from './migration-errors';
import { isFinished } from './migration-lookup';
import type { DatabaseClient } from '../../db/transactions';

/** The Migration types a resize activity acts on: a cold migration and a resize. */
const RESIZE_TYPES = ['migration', 'resize'];

/**
 * The Migration row of a resize or cold migration, with its instance's name and both flavors.
 * MigrationError when it is not recorded or is another kind of migration.
 */
export async function getResizeMigration(db: DatabaseClient, uuid: string) {
  const migration = await db.migration.findUnique({
    where: { uuid },
    include: { instance: { select: { name: true } }, oldFlavor: true, newFlavor: true },
  });
  if (!migration) throw migrationFailure('MigrationError', `migration ${uuid} is not recorded`);
  if (!RESIZE_TYPES.includes(migration.migrationType)) {
    throw migrationFailure(
      'MigrationError',
      `migration ${uuid} is a ${migration.migrationType}, not a resize or cold migration`,
    );
  }
  return migration;
}

export type ResizeMigration = Awaited<ReturnType<typeof getResizeMigration>>;

/**
 * The MigrationError of a step (`what`: "become migrating", "finish", ...) that the migration's
 * status now rules out.
 */
export function refusedStep(uuid: string, status: string, what: string): Error {
  const where = isFinished(status) ? `already ended as ${status}` : `is ${status}`;
  return migrationFailure('MigrationError', `migration ${uuid} ${where}: it cannot ${what}`);
}

/** The migration's status as it is now, in the transaction. */
export async function currentStatus(tx: DatabaseClient, id: number): Promise<ResizeStatus> {
  const { status } = await tx.migration.findUniqueOrThrow({
    where: { id },
    select: { status: true },
  });
  return status as ResizeStatus;
}

/**
 * Fails with MigrationError unless the migration's operation holds its instance: its action was
 * opened by beginResize and is not finished yet.
 */
export async function requireBegun(tx: DatabaseClient, migrationUuid: string): Promise<void> {
  const action = await tx.instanceAction.findUnique({
    where: { requestId: migrationUuid },
    select: { finishTime: true },
  });
  if (!action || action.finishTime !== null) {
    throw migrationFailure(
      'MigrationError',
      `migration ${migrationUuid} does not hold its instance: its operation ${action ? 'has ended' : 'has not begun'}`,
    );
  }
}

/**
 * Records an event of the migration's action as finished with Success now (its start is kept
 * when the workflow recorded one), in the transaction that made the change it reports.
 */
export async function recordSucceededEvent(
  tx: DatabaseClient,
  migrationUuid: string,
  event: string,
): Promise<void> {
  const { id } = await tx.instanceAction.findUniqueOrThrow({
    where: { requestId: migrationUuid },
    select: { id: true },
  });
  const finish = { finishTime: new Date(), result: 'Success', details: null };
  await tx.instanceActionEvent.upsert({
    where: { actionId_event: { actionId: id, event } },
    create: { actionId: id, event, ...finish },
    update: finish,
  });
}
