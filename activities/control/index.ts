import type { LiveMigrationControlActivities } from '../../workflows/live-migration-contract';
import type { OperationControlActivities } from '../../workflows/operation-types';
import type { ResizeControlActivities } from '../../workflows/resize-contract';
import type { Database } from '../../db/database';
import type { DrainControlActivities } from '../../workflows/drain-contract';
import { drainControlActivities, type DrainConfig } from './drain-control';
import type { HostHeartbeatControlActivities } from '../../workflows/host-heartbeats-contract';
import type { EvacuateControlActivities } from '../../workflows/evacuate-contract';
import type { FerryConfig } from '../../config';
import { evacuationControlActivities } from './evacuation-control';
import { hostHeartbeatActivities } from './host-heartbeats';
import { hostInventoryActivities } from './host-inventory';
import { migrationControlActivities } from './migration-control';
import type { SlotSettings } from './migration-slots';
import type { ControlPolicyConfig } from './policy';
import { resizeControlActivities } from './resize-control';

/**
 * Every activity of the control task queue, bound to ferry's database and to the control worker's
 * own settings (the policy every operation runs under, the migration slots' limits, a drain's
 * defaults).
 */
export function createControlActivities(
  db: Database,
  settings: SlotSettings &
    ControlPolicyConfig &
    DrainConfig &
    Pick<FerryConfig, 'reportIntervalSeconds' | 'serviceDownTimeSeconds'>,
) {
  return {
    ...evacuationControlActivities(db, settings),
    ...drainControlActivities(db, settings),
    ...hostHeartbeatActivities(db, settings),
    ...hostInventoryActivities(db),
    ...migrationControlActivities(db, settings),
    ...resizeControlActivities(db),
  } satisfies OperationControlActivities &
    LiveMigrationControlActivities &
    ResizeControlActivities &
    DrainControlActivities &
    EvacuateControlActivities &
    HostHeartbeatControlActivities;
}

export type ControlActivities = ReturnType<typeof createControlActivities>;
