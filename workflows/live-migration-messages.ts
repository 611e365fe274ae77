/** The messages a liveMigration workflow answers: its status query, Updates and progress signal. */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import {
  MIGRATION_PROGRESS_SIGNAL,
  type LiveMigrationState,
  type MigrationProgress,
} from './live-migration-contract';

export const statusQuery = defineQuery<LiveMigrationState>('status');

/** Allowed while queued, preparing or running; the migration rolls back to the source. */
export const abortUpdate = defineUpdate<LiveMigrationState>('abort');

/** Allowed while running: post-copy where permitted, else the guest is paused to converge. */
export const forceCompleteUpdate = defineUpdate<LiveMigrationState>('forceComplete');

/**
 * The abort for a caller that cannot send an Update (a drain, from its workflow): ignored once the
 * migration is past running; before queued it takes effect at the first point it can.
 */
export const abortSignal = defineSignal('abortMigration');

export const progressSignal = defineSignal<[MigrationProgress]>(MIGRATION_PROGRESS_SIGNAL);
