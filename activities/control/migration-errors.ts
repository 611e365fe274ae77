import { ApplicationFailure } from '@temporalio/common';
import type { MigrationErrorType } from '../../workflows/operation-types';

/**
 * A failure a workflow or a caller acts on: non-retryable, typed as Nova names it (MIGRATION_ERRORS),
 * its message naming the thing and why.
 */
export function migrationFailure(type: MigrationErrorType, message: string): ApplicationFailure {
  return ApplicationFailure.create({ type, message, nonRetryable: true });
}
