/**
 * Migration slots, across every control worker (docs/scheduler.md, "Migration slots"): Nova's
 * max_concurrent_live_migrations per source host, and max_concurrent_migrations for migrations of
 * any kind in the whole fleet. A migration waits as `queued` until both have a slot for it and it
 * is the next in line.
 */
import type { FerryConfig } from '../../config';
import { providerOf, type Database } from '../../db/database';
import { inTransaction, lockMigrationSlots } from '../../db/transactions';
import { migrationFailure } from './migration-errors';
import { getMigrationByUuid } from './migration-lookup';
import { type ActionIds, recordActionEvents } from './instance-actions';
import type { ActionEventRecord } from '../../workflows/operation-types';

/** The control worker's own settings the slots are decided by. */
export type SlotSettings = Pick<
  FerryConfig,
  'maxConcurrentMigrations' | 'maxConcurrentLiveMigrations'
>;

/** The statuses that hold a slot: the live migration's, and the resize's while the guest moves. */
const LIVE_MOVING = ['preparing', 'running'];
const MOVING = [...LIVE_MOVING, 'migrating', 'post-migrating'];

/** A queued migration whose workflow has not asked for a slot for this long is not waited for. */
export const STALE_WAITER_MS = 60_000;

/**
 * Moves a queued migration to its first moving status (a live migration to `preparing`, a resize
 * or cold migration to `migrating`) when the fleet has fewer than `maxConcurrentMigrations`
 * migrations moving, a live migration's source fewer than `limit` (default: the control worker's
 * max_concurrent_live_migrations) live ones, and it is among the oldest queued ones (by id) that
 * fit in the free slots; returns whether it did. Decided under one lock for the whole fleet, so
 * concurrent calls never hand out more slots than the limits. A migration already moving (a
 * retried call) has its slot: true. Fails with MigrationError in any other status. With the slot,
 * `events` (the next step's start) are recorded, as recordActionEvents does.
 */
export async function acquireMigrationSlot(
  db: Database,
  settings: SlotSettings,
  request: { migrationUuid: string; limit?: number; events?: ActionEventRecord[] },
  actionIds?: ActionIds,
): Promise<boolean> {
  const acquired = await takeSlot(db, settings, request);
  if (acquired && request.events) await recordActionEvents(db, request.events, actionIds);
  return acquired;
}

async function takeSlot(
  db: Database,
  settings: SlotSettings,
  request: { migrationUuid: string; limit?: number },
): Promise<boolean> {
  const migration = await getMigrationByUuid(db, request.migrationUuid);
  const perHost = request.limit ?? settings.maxConcurrentLiveMigrations;
  return inTransaction(db, async (tx) => {
    await lockMigrationSlots(tx, providerOf(db), migration.sourceHost);
    const { status } = await tx.migration.findUniqueOrThrow({
      where: { id: migration.id },
      select: { status: true },
    });
    if (MOVING.includes(status)) return true;
    if (status !== 'queued') {
      throw migrationFailure(
        'MigrationError',
        `migration ${migration.uuid} is ${status}, not queued: it cannot wait for a slot`,
      );
    }
    const moving = await tx.migration.findMany({
      where: { status: { in: MOVING } },
      select: { sourceHost: true, status: true },
    });
    const liveFrom = new Map<string, number>();
    for (const { sourceHost, status: movingStatus } of moving) {
      if (LIVE_MOVING.includes(movingStatus)) {
        liveFrom.set(sourceHost, (liveFrom.get(sourceHost) ?? 0) + 1);
      }
    }
    const waiting = await tx.migration.findMany({
      where: {
        status: 'queued',
        OR: [{ updatedAt: { gte: new Date(Date.now() - STALE_WAITER_MS) } }, { id: migration.id }],
      },
      orderBy: { id: 'asc' },
      select: { id: true, sourceHost: true, migrationType: true },
    });
    let fleetFree = settings.maxConcurrentMigrations - moving.length;
    for (const waiter of waiting) {
      if (fleetFree <= 0) break;
      const live = waiter.migrationType === 'live-migration';
      // A live migration its source holds back waits for its host, not ahead of the fleet.
      if (live && (liveFrom.get(waiter.sourceHost) ?? 0) >= perHost) continue;
      if (waiter.id === migration.id) {
        await tx.migration.update({
          where: { id: migration.id },
          data: { status: live ? 'preparing' : 'migrating' },
        });
        return true;
      }
      fleetFree -= 1;
      if (live) liveFrom.set(waiter.sourceHost, (liveFrom.get(waiter.sourceHost) ?? 0) + 1);
    }
    // Still waiting: the row's updatedAt says its workflow is alive and keeps its place in line.
    await tx.migration.update({ where: { id: migration.id }, data: { status: 'queued' } });
    return false;
  });
}
