import { migrationFailure } from './migration-errors';
import type { DatabaseClient } from '../../db/transactions';
import { flavorResources, type Resources } from '../../db/host-state';
import { FINISHED_MIGRATION_STATUSES } from '../../workflows/operation-types';

export function isFinished(status: string): boolean {
  return FINISHED_MIGRATION_STATUSES.includes(status);
}

/** The Migration row of a uuid; MigrationError when there is none. */
export async function getMigrationByUuid(db: DatabaseClient, uuid: string) {
  const migration = await db.migration.findUnique({ where: { uuid } });
  return migration ?? notRecorded(uuid);
}

/** What placing a migration needs to know of it. */
export interface MigrationToPlace {
  id: number;
  instanceUuid: string;
  sourceHost: string;
  instanceName: string;
  /** The size of the flavor the instance moves to. */
  needs: Resources;
}

/**
 * What placing the migration of a uuid needs: its id, instance and source, the instance's name,
 * and the size of the flavor it moves to, read in one statement (Prisma would read each relation
 * with a query of its own; docs/database.md, "Statements a step costs"). MigrationError when
 * there is none.
 */
export async function getMigrationToPlace(
  db: DatabaseClient,
  uuid: string,
): Promise<MigrationToPlace> {
  const [row] = await db.$queryRaw<
    (Omit<MigrationToPlace, 'needs'> & { vcpus: number; memoryMiB: number; rootDiskGiB: number })[]
  >`
    SELECT m."id", m."instanceUuid", m."sourceHost", i."name" AS "instanceName",
      f."vcpus", f."memoryMiB", f."rootDiskGiB"
    FROM "Migration" m
      JOIN "Instance" i ON i."uuid" = m."instanceUuid"
      JOIN "Flavor" f ON f."id" = m."newFlavorId"
    WHERE m."uuid" = ${uuid}`;
  if (row === undefined) return notRecorded(uuid);
  const { vcpus, memoryMiB, rootDiskGiB, ...migration } = row;
  return { ...migration, needs: flavorResources({ vcpus, memoryMiB, rootDiskGiB }) };
}

function notRecorded(uuid: string): never {
  throw migrationFailure('MigrationError', `migration ${uuid} is not recorded`);
}
