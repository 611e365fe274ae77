/** The non-retryable failures a caller of the host activities can act on. */
import { ApplicationFailure } from '@temporalio/common';
import type { MigrationErrorType } from '../../../workflows/operation-types';

export function migrationFailure(type: MigrationErrorType, message: string): ApplicationFailure {
  return ApplicationFailure.create({ type, message, nonRetryable: true });
}
