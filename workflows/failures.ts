/** Reading the failures activities raise: their Nova error type and their own message. */
import { ActivityFailure, ApplicationFailure, TimeoutFailure } from '@temporalio/workflow';
import { MIGRATION_ERRORS, type MigrationErrorType } from './operation-types';

/** The ApplicationFailure an activity raised, unwrapped from its ActivityFailure. */
function applicationFailure(error: unknown): ApplicationFailure | undefined {
  const cause = error instanceof ActivityFailure ? error.cause : error;
  return cause instanceof ApplicationFailure ? cause : undefined;
}

/** The Nova error type of a failure, when it has one. */
export function errorType(error: unknown): MigrationErrorType | undefined {
  const type = applicationFailure(error)?.type;
  return MIGRATION_ERRORS.find((known) => known === type);
}

/** The message a user should read: the activity's own, not Temporal's wrapper. */
export function failureMessage(error: unknown): string {
  if (error instanceof ActivityFailure) {
    const cause = error.cause;
    if (cause instanceof TimeoutFailure) {
      return `${error.activityType} timed out (${cause.timeoutType}): the host agent did not answer`;
    }
    return cause?.message ?? error.message;
  }
  return error instanceof Error ? error.message : String(error);
}

/** Whether a failure was an agent that never answered (a host down, for the scheduler). */
export function isAgentTimeout(error: unknown): boolean {
  return error instanceof ActivityFailure && error.cause instanceof TimeoutFailure;
}
