import type { MigrationControlActivities } from '../../workflows/migration-activities';
import type { ResizeControlActivities } from '../../workflows/resize-types';
import type { OperationPolicy } from '../../workflows/migration-types';
import type { FerryConfig } from '../../config';
import type { Database } from '../../db/database';
import { hostInventoryActivities } from './host-inventory';
import { migrationControlActivities } from './migration-control';
import { resizeControlActivities } from './resize-control';

/** The settings of the control worker that are policy for every operation, whoever starts it. */
export type ControlPolicyConfig = Pick<
  FerryConfig,
  'resizeConfirmWindowSeconds' | 'maxConcurrentLiveMigrations' | 'schedulerMaxAttempts'
>;

export function operationPolicy(config: ControlPolicyConfig): OperationPolicy {
  return {
    resizeConfirmWindowSeconds: config.resizeConfirmWindowSeconds,
    maxConcurrentLiveMigrations: config.maxConcurrentLiveMigrations,
    schedulerMaxAttempts: config.schedulerMaxAttempts,
  };
}

/** Every activity of the control task queue, bound to ferry's database and `config`'s policy. */
export function createControlActivities(db: Database, config: ControlPolicyConfig) {
  return {
    ...hostInventoryActivities(db),
    ...migrationControlActivities(db, operationPolicy(config)),
    ...resizeControlActivities(db),
  } satisfies MigrationControlActivities & ResizeControlActivities;
}

export type ControlActivities = ReturnType<typeof createControlActivities>;
