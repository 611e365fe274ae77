import type { LiveMigrationControlActivities } from '../../workflows/live-migration-contract';
import type { OperationControlActivities } from '../../workflows/operation-types';
import type { ResizeControlActivities } from '../../workflows/resize-contract';
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
  } satisfies OperationControlActivities & LiveMigrationControlActivities & ResizeControlActivities;
}

export type ControlActivities = ReturnType<typeof createControlActivities>;
