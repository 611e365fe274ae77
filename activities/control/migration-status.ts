import type { LiveMigrationStatus } from '../../workflows/live-migration-contract';
import type { Database } from '../../db/database';
import { Prisma } from '../../db/models';
import { migrationFailure } from './migration-errors';
import { FINISHED_MIGRATION_STATUSES } from '../../workflows/operation-types';
import { getMigrationByUuid, isFinished } from './migration-lookup';
import { type ActionIds, recordActionEvents } from './instance-actions';
import type { ActionEventRecord } from '../../workflows/operation-types';

/**
 * Sets a Migration row's status, and its destination and error when given; a finished status
 * (completed, failed, cancelled, error) also sets finishedAt. Never touches the instance. A
 * migration that already finished keeps its outcome: setting the same status again does nothing,
 * another one fails with MigrationError. Then records `events` in order (recordActionEvents).
 */
export async function setMigrationStatus(
  db: Database,
  update: {
    migrationUuid: string;
    status: LiveMigrationStatus;
    destHost?: string;
    error?: string;
    events?: ActionEventRecord[];
  },
  actionIds?: ActionIds,
): Promise<void> {
  await updateStatus(db, update);
  if (update.events) await recordActionEvents(db, update.events, actionIds);
}

/**
 * One UPDATE written as SQL: Prisma runs an updateMany as a transaction of its own (BEGIN, the
 * UPDATE, COMMIT; docs/database.md, "Statements a step costs"). `updatedAt` is Prisma's to set,
 * so it is set here.
 */
async function updateStatus(
  db: Database,
  update: { migrationUuid: string; status: LiveMigrationStatus; destHost?: string; error?: string },
): Promise<void> {
  const now = new Date();
  const sets = [
    Prisma.sql`"status" = ${update.status}`,
    Prisma.sql`"updatedAt" = ${now}`,
    ...(update.destHost === undefined ? [] : [Prisma.sql`"destHost" = ${update.destHost}`]),
    ...(update.error === undefined ? [] : [Prisma.sql`"error" = ${update.error}`]),
    ...(isFinished(update.status) ? [Prisma.sql`"finishedAt" = ${now}`] : []),
  ];
  const count = await db.$executeRaw`
    UPDATE "Migration" SET ${Prisma.join(sets)}
    WHERE "uuid" = ${update.migrationUuid}
      AND "status" NOT IN (${Prisma.join(FINISHED_MIGRATION_STATUSES)})`;
  if (count > 0) return;
  const migration = await getMigrationByUuid(db, update.migrationUuid);
  if (migration.status !== update.status) {
    throw migrationFailure(
      'MigrationError',
      `migration ${update.migrationUuid} already ended as ${migration.status}: it cannot become ${update.status}`,
    );
  }
}
