import { migrationFailure } from './migration-errors';
import type { DatabaseClient } from '../../db/transactions';
import { FINISHED_MIGRATION_STATUSES } from '../../workflows/operation-types';

export function isFinished(status: string): boolean {
  return FINISHED_MIGRATION_STATUSES.includes(status);
}

/** The Migration row of a uuid; MigrationError when there is none. */
export async function getMigrationByUuid(db: DatabaseClient, uuid: string) {
  const migration = await db.migration.findUnique({ where: { uuid } });
  return migration ?? notRecorded(uuid);
}

/**
 * The Migration row of a uuid with what placing it needs, its instance's name and the flavor it
 * moves to (two more statements: Prisma reads relations one query each); MigrationError when
 * there is none.
 */
export async function getMigrationToPlace(db: DatabaseClient, uuid: string) {
  const migration = await db.migration.findUnique({
    where: { uuid },
    include: { instance: { select: { name: true } }, newFlavor: true },
  });
  return migration ?? notRecorded(uuid);
}

function notRecorded(uuid: string): never {
  throw migrationFailure('MigrationError', `migration ${uuid} is not recorded`);
}
