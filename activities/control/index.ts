import type { MigrationControlActivities } from '../../workflows/migration-activities';
import type { ResizeControlActivities } from '../../workflows/resize-types';
import type { Database } from '../../db/database';
import { hostInventoryActivities } from './host-inventory';
import { migrationControlActivities } from './migration-control';
import { resizeControlActivities } from './resize-control';

/** Every activity of the control task queue, bound to ferry's database. */
export function createControlActivities(db: Database) {
  return {
    ...hostInventoryActivities(db),
    ...migrationControlActivities(db),
    ...resizeControlActivities(db),
  } satisfies MigrationControlActivities & ResizeControlActivities;
}

export type ControlActivities = ReturnType<typeof createControlActivities>;
