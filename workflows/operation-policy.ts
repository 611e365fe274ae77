/**
 * The policy an operation runs under comes from the control plane, whoever started it: the
 * workflow asks the control worker at its start, and the answer is recorded in its history
 * (docs/host-agent.md, "Policy"). Histories recorded before carry the caller's values in their
 * input and replay with those.
 */
import { patched } from '@temporalio/workflow';
import { control } from './activity-proxies';
import type { LiveMigrationInput, LiveMigrationPlan } from './live-migration-contract';
import type { OperationPolicy } from './operation-types';
import type { ResizeInput, ResizePlan } from './resize-contract';

const POLICY_FROM_CONTROL = 'policy-from-control';

export async function liveMigrationPlan(input: LiveMigrationInput): Promise<LiveMigrationPlan> {
  const { maxConcurrentPerSource, schedulerMaxAttempts } = input;
  if (
    !patched(POLICY_FROM_CONTROL) &&
    maxConcurrentPerSource !== undefined &&
    schedulerMaxAttempts !== undefined
  ) {
    return { ...input, maxConcurrentPerSource, schedulerMaxAttempts };
  }
  return liveMigrationPlanOf(input, await control.describePolicy());
}

/** A live migration's input under the control worker's policy. */
export function liveMigrationPlanOf(
  input: LiveMigrationInput,
  policy: OperationPolicy,
): LiveMigrationPlan {
  return {
    ...input,
    maxConcurrentPerSource: policy.maxConcurrentLiveMigrations,
    schedulerMaxAttempts: policy.schedulerMaxAttempts,
  };
}

export async function resizePlan(input: ResizeInput): Promise<ResizePlan> {
  const { confirmWindowSeconds, schedulerMaxAttempts } = input;
  if (
    !patched(POLICY_FROM_CONTROL) &&
    confirmWindowSeconds !== undefined &&
    schedulerMaxAttempts !== undefined
  ) {
    return { ...input, confirmWindowSeconds, schedulerMaxAttempts };
  }
  const policy = await control.describePolicy();
  return {
    ...input,
    confirmWindowSeconds: policy.resizeConfirmWindowSeconds,
    schedulerMaxAttempts: policy.schedulerMaxAttempts,
  };
}
