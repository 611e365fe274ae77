/**
 * Nova's instance actions: one InstanceAction per operation (requestId = the migration's uuid), and
 * an InstanceActionEvent per step with its start, finish and result.
 */
import type { ActionEventRecord } from '../../workflows/operation-types';
import type { Database } from '../../db/database';
import { migrationFailure } from './migration-errors';
import type { DatabaseClient } from '../../db/transactions';

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
  const event = { actionId: await actionIds.of(db, record.migrationUuid), event: record.event };
  const finish =
    record.phase === 'finish'
      ? { finishTime: new Date(), result: record.result ?? null, details: record.details ?? null }
      : // A start leaves an event already there as it is; writing its own name back keeps the
        // upsert one INSERT … ON CONFLICT, where an empty update makes Prisma read, then write,
        // in a transaction of its own (docs/database.md, "Statements a step costs").
        { event: record.event };
  await db.instanceActionEvent.upsert({
    where: { actionId_event: event },
    create: { ...event, ...(record.phase === 'finish' ? finish : {}) },
    update: finish,
  });
}

/** Records each event in order, as recordActionEvent does. */
export async function recordActionEvents(
  db: Database,
  records: ActionEventRecord[],
  actionIds: ActionIds = new ActionIds(),
): Promise<void> {
  for (const record of records) await recordActionEvent(db, record, actionIds);
}
