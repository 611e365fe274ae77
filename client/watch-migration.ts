import { setTimeout as sleep } from 'node:timers/promises';
import { ApplicationFailure, WorkflowFailedError, type Client } from '@temporalio/client';
import { statusQuery } from '../workflows/live-migration-messages';
import type { LiveMigrationState } from '../workflows/live-migration-contract';

/** A migration that ended failed, cancelled or in error: the reason and its last state. */
export class MigrationFailedError extends Error {
  constructor(
    message: string,
    readonly state: LiveMigrationState | undefined,
  ) {
    super(message);
    this.name = 'MigrationFailedError';
  }
}

/**
 * Follows a migration workflow to its end, calling `onState` with each status that differs from
 * the last (queried every `intervalMs`). Resolves with the final state of a completed migration.
 */
export async function watchMigration(
  client: Client,
  workflowId: string,
  onState: (state: LiveMigrationState) => void,
  intervalMs = 1000,
): Promise<LiveMigrationState> {
  const handle = client.workflow.getHandle(workflowId);
  let last = '';
  let done = false;
  const report = (state: LiveMigrationState) => {
    const key = JSON.stringify([state.status, state.step, state.progress?.percent]);
    if (key !== last) onState(state);
    last = key;
  };
  const poll = (async () => {
    while (!done) {
      const state = await handle.query(statusQuery).catch(() => undefined);
      if (state && !done) report(state);
      await sleep(intervalMs);
    }
  })();
  try {
    const final = (await handle.result()) as LiveMigrationState;
    report(final);
    return final;
  } catch (error) {
    if (error instanceof WorkflowFailedError && error.cause instanceof ApplicationFailure) {
      const state = error.cause.details?.[0] as LiveMigrationState | undefined;
      if (state) report(state);
      throw new MigrationFailedError(error.cause.message, state);
    }
    throw error;
  } finally {
    done = true;
    await poll;
  }
}
