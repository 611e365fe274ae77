/**
 * Nova's instance actions: one InstanceAction per operation (requestId = the migration's uuid), and
 * an InstanceActionEvent per step with its start, finish and result.
 */
import type { ActionEventRecord } from '../../workflows/operation-types';
import type { Database } from '../../db/database';
import { migrationFailure } from './migration-errors';
import type { DatabaseClient } from '../../db/transactions';
import { Prisma } from '../../db/models';

/**
 * Opens the action of a migration's operation; an action already open for it is kept as it is.
 * Returns the action's id.
 */
export async function openInstanceAction(
  tx: DatabaseClient,
  action: { migrationUuid: string; instanceUuid: string; action: string; userId: string },
): Promise<number> {
  const { id } = await tx.instanceAction.upsert({
    where: { requestId: action.migrationUuid },
    create: {
      requestId: action.migrationUuid,
      instanceUuid: action.instanceUuid,
      action: action.action,
      userId: action.userId,
    },
    // Its own key written back: one INSERT … ON CONFLICT instead of a read, then a write
    // (docs/database.md, "Statements a step costs").
    update: { requestId: action.migrationUuid },
    select: { id: true },
  });
  return id;
}

/**
 * Sets the finish time (and the message, when given) of a migration's action. Returns whether
 * there was one, that is whether the migration's operation had begun.
 */
export async function finishInstanceAction(
  tx: DatabaseClient,
  migrationUuid: string,
  message?: string,
): Promise<boolean> {
  const { count } = await tx.instanceAction.updateMany({
    where: { requestId: migrationUuid },
    data: { finishTime: new Date(), ...(message === undefined ? {} : { message }) },
  });
  return count > 0;
}

/**
 * The ids of migrations' instance actions. An action's id never changes once it is made (actions
 * are never deleted), so the control worker looks each up once: every step then records its
 * event in one statement instead of two. Bounded; the oldest entries go first.
 */
export class ActionIds {
  private readonly ids = new Map<string, number>();

  constructor(private readonly capacity = 10_000) {}

  /** The id of the migration's action; fails with MigrationError when it has none yet. */
  async of(db: Database, migrationUuid: string): Promise<number> {
    const known = this.ids.get(migrationUuid);
    if (known !== undefined) return known;
    const action = await db.instanceAction.findUnique({
      where: { requestId: migrationUuid },
      select: { id: true },
    });
    if (!action) {
      throw migrationFailure(
        'MigrationError',
        `migration ${migrationUuid} has no instance action: its operation has not begun`,
      );
    }
    this.remember(migrationUuid, action.id);
    return action.id;
  }

  /** Keeps the id of an action just made, so that its first event needs no lookup. */
  remember(migrationUuid: string, id: number): void {
    if (this.ids.size >= this.capacity) this.ids.delete(this.ids.keys().next().value as string);
    this.ids.set(migrationUuid, id);
  }
}

/**
 * Records a step of a migration's action: `start` creates its event (once), `finish` sets its
 * finish time, result and details (creating the event if its start was never recorded). Fails
 * with MigrationError when the migration's operation has not begun (no action).
 */
export async function recordActionEvent(
  db: Database,
  record: ActionEventRecord,
  actionIds: ActionIds = new ActionIds(),
): Promise<void> {
  await recordActionEvents(db, [record], actionIds);
}

/** One event's row as it is written: a start has no finish time, result or details. */
type EventRow = [number, string, Date, Date | null, string | null, string | null];

/**
 * Records each event in order, as recordActionEvent does, in one statement (docs/database.md,
 * "Statements a step costs"). A statement may write a row once only, so an event recorded twice
 * in `records` (its start and its finish) starts another statement, in order.
 */
export async function recordActionEvents(
  db: Database,
  records: ActionEventRecord[],
  actionIds: ActionIds = new ActionIds(),
): Promise<void> {
  const now = new Date();
  let batch: EventRow[] = [];
  for (const record of records) {
    const actionId = await actionIds.of(db, record.migrationUuid);
    if (batch.some(([id, event]) => id === actionId && event === record.event)) {
      await upsertEvents(db, batch);
      batch = [];
    }
    batch.push(
      record.phase === 'finish'
        ? [actionId, record.event, now, now, record.result ?? null, record.details ?? null]
        : [actionId, record.event, now, null, null, null],
    );
  }
  if (batch.length > 0) await upsertEvents(db, batch);
}

/**
 * Inserts the rows; where an event is already there, a finish overwrites its finish time, result
 * and details, and a start (no finish time) leaves it as it was. Written as SQL because Prisma has
 * no upsert of several rows, and one of its upserts costs as much CPU as three raw statements.
 */
async function upsertEvents(db: Database, rows: EventRow[]): Promise<void> {
  const values = Prisma.join(rows.map((row) => Prisma.sql`(${Prisma.join(row)})`));
  await db.$executeRaw`
    INSERT INTO "InstanceActionEvent"
      ("actionId", "event", "startTime", "finishTime", "result", "details")
    VALUES ${values}
    ON CONFLICT ("actionId", "event") DO UPDATE SET
      "finishTime" = excluded."finishTime",
      "result" = excluded."result",
      "details" = excluded."details"
    WHERE excluded."finishTime" IS NOT NULL`;
}
