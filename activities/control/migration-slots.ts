/**
 * Nova's max_concurrent_live_migrations, per source host and across every control worker: a live
 * migration waits as `queued` until one of its source's slots is free and it is the next in line.
 */
import type { Database } from '../../db/database';
import { migrationFailure } from './migration-errors';
import { getMigrationByUuid } from './migration-lookup';
import { inTransaction, lockHost } from '../../db/transactions';

/** The statuses that hold one of the source host's slots. */
const HOLDING_A_SLOT = ['preparing', 'running'];

/**
 * Moves a queued live migration to `preparing` when fewer than `limit` live migrations of its
 * source host are preparing or running and it is among the oldest queued ones (by id) that fit in
 * the free slots; returns whether it did. Decided under the source Host row's lock, so concurrent
 * calls never hand out more than `limit` slots. A migration already preparing or running (a
 * retried call) has its slot: true. Fails with MigrationError when the migration is in any other
 * status (it must be set `queued` first).
 */
export async function acquireMigrationSlot(
  db: Database,
  request: { migrationUuid: string; limit: number },
): Promise<boolean> {
  const migration = await getMigrationByUuid(db, request.migrationUuid);
  return inTransaction(db, async (tx) => {
    await lockHost(tx, migration.sourceHost);
    const { status } = await tx.migration.findUniqueOrThrow({
      where: { id: migration.id },
      select: { status: true },
    });
    if (HOLDING_A_SLOT.includes(status)) return true;
    if (status !== 'queued') {
      throw migrationFailure(
        'MigrationError',
        `migration ${migration.uuid} is ${status}, not queued: it cannot wait for a slot`,
      );
    }
    const outgoing = { sourceHost: migration.sourceHost, migrationType: 'live-migration' };
    const holding = await tx.migration.count({
      where: { ...outgoing, status: { in: HOLDING_A_SLOT } },
    });
    const free = request.limit - holding;
    if (free <= 0) return false;
    const next = await tx.migration.findMany({
      where: { ...outgoing, status: 'queued' },
      orderBy: { id: 'asc' },
      take: free,
      select: { id: true },
    });
    if (!next.some(({ id }) => id === migration.id)) return false;
    await tx.migration.update({ where: { id: migration.id }, data: { status: 'preparing' } });
    return true;
  });
}
