import type { FerryConfig } from '../../config';
import type { OperationPolicy } from '../../workflows/operation-types';

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
