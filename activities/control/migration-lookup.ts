import { migrationFailure } from './migration-errors';
import type { DatabaseClient } from '../../db/transactions';
import { FINISHED_MIGRATION_STATUSES } from '../../workflows/operation-types';

export function isFinished(status: string): boolean {
  return FINISHED_MIGRATION_STATUSES.includes(status);
}

/**
 * The Migration row of a uuid, with its instance's name and the flavor it moves to;
 * MigrationError when there is none.
 */
export async function getMigrationByUuid(db: DatabaseClient, uuid: string) {
  const migration = await db.migration.findUnique({
    where: { uuid },
    include: { instance: { select: { name: true } }, newFlavor: true },
  });
  if (!migration) throw migrationFailure('MigrationError', `migration ${uuid} is not recorded`);
  return migration;
}
