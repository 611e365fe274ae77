/**
 * The workflows the drain's unit tests bundle: ferry's real hostDrain, with MOCK liveMigration and
 * resize children that do what test/support/fake-drain-activities.ts scripts for each instance
 * (move, fail with a type, or hold until aborted) and answer the drain's abort signals.
 */
import { ApplicationFailure, condition, proxyActivities, setHandler } from '@temporalio/workflow';
import type { LiveMigrationInput } from '../../workflows/live-migration-contract';
import { abortSignal } from '../../workflows/live-migration-messages';
import type { ResizeInput } from '../../workflows/resize-contract';
import { abortResizeSignal } from '../../workflows/resize-messages';
import type { FakeMoveActivities } from './fake-drain-activities';

export { hostDrain, hostDrainPlan } from '../../workflows/host-drain';

const moves = proxyActivities<FakeMoveActivities>({ startToCloseTimeout: '30s' });

async function fakeMove(input: LiveMigrationInput | ResizeInput, kind: 'live' | 'cold') {
  let aborted = false;
  setHandler(kind === 'live' ? abortSignal : abortResizeSignal, () => void (aborted = true));
  const script = await moves.moveBegan({ instanceUuid: input.instanceUuid, kind });
  try {
    if (script.outcome === 'hold') {
      await condition(() => aborted);
      await moves.abortReceived({ instanceUuid: input.instanceUuid });
      throw ApplicationFailure.nonRetryable(
        'aborted at the request of the user',
        'MigrationCancelled',
      );
    }
    if (script.outcome === 'fail')
      throw ApplicationFailure.nonRetryable(script.message, script.type);
    return { destHost: script.destHost };
  } finally {
    await moves.moveEnded({ instanceUuid: input.instanceUuid });
  }
}

export function liveMigration(input: LiveMigrationInput) {
  return fakeMove(input, 'live');
}

export function resize(input: ResizeInput) {
  return fakeMove(input, 'cold');
}
