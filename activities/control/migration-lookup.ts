import { migrationFailure } from './migration-errors';
import type { DatabaseClient } from '../../db/transactions';

/** Nova's migration statuses after which nothing changes any more (live migration and resize). */
export const FINISHED_MIGRATION_STATUSES = [
  'completed',
  'failed',
  'cancelled',
  'error',
  'confirmed',
  'reverted',
];

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
