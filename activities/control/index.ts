import type { LiveMigrationControlActivities } from '../../workflows/live-migration-contract';
import type { OperationControlActivities } from '../../workflows/operation-types';
import type { ResizeControlActivities } from '../../workflows/resize-contract';
import { loadConfig } from '../../config';
import type { Database } from '../../db/database';
import type { DrainControlActivities } from '../../workflows/drain-contract';
import { drainControlActivities, type DrainConfig } from './drain-control';
import { hostInventoryActivities } from './host-inventory';
import { migrationControlActivities } from './migration-control';
import { resizeControlActivities } from './resize-control';

/**
 * Every activity of the control task queue, bound to ferry's database; `config` gives a drain its
 * defaults (the built-in ones when not given).
 */
export function createControlActivities(db: Database, config: DrainConfig = loadConfig({})) {
  return {
    ...drainControlActivities(db, config),
    ...hostInventoryActivities(db),
    ...migrationControlActivities(db),
    ...resizeControlActivities(db),
  } satisfies OperationControlActivities &
    LiveMigrationControlActivities &
    ResizeControlActivities &
    DrainControlActivities;
}

export type ControlActivities = ReturnType<typeof createControlActivities>;
