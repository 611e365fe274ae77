/**
 * One instance's move in a drain: a live or cold migration run as a child workflow under the
 * instance's own workflow id, retried on a retryable failure (docs/drain.md, "Retries").
 */
import {
  ApplicationFailure,
  ChildWorkflowFailure,
  condition,
  proxyLocalActivities,
  startChild,
  type ChildWorkflowHandle,
} from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import type { DrainControlActivities, DrainItem, DrainMove, DrainState } from './drain-contract';
import { DESTINATION_REFUSALS, type LiveMigrationInput } from './live-migration-contract';
import type { ResizeInput } from './resize-contract';
import { instanceWorkflowId, type OperationState, type OperationStatus } from './operation-types';
import { FerryInstance, FerryOperation, FerrySourceHost, FerryStatus } from './search-attributes';

/** Database steps of a drain: local activities, retried until the database answers. */
export const drainControl = proxyLocalActivities<DrainControlActivities>({
  startToCloseTimeout: '60s',
  retry: { maximumInterval: '30s', nonRetryableErrorTypes: ['HostNotFound'] },
});

/** Failures another attempt may get past: no room now, a destination that refused, too slow. */
const RETRYABLE = new Set<string>(['NoValidHost', 'MigrationTimeout', ...DESTINATION_REFUSALS]);

/** The first retry waits this long unless the drain says otherwise, each next one twice as long. */
const RETRY_DELAY_SECONDS = 10;

/** liveMigration or resize, as a drain starts them. */
type MoveWorkflow = (
  input: LiveMigrationInput | ResizeInput,
) => Promise<OperationState<OperationStatus>>;

/** What a drain tracks of its moves in flight, to abort them. */
export type InFlight = Map<
  string,
  { handle: ChildWorkflowHandle<MoveWorkflow>; action: 'live' | 'cold' }
>;

/** Sends the child of a move in flight the abort its workflow understands. */
export async function abortMove(flight: {
  handle: ChildWorkflowHandle<MoveWorkflow>;
  action: 'live' | 'cold';
}): Promise<void> {
  await flight.handle.signal(flight.action === 'live' ? 'abortMigration' : 'abortResize');
}

type Outcome = { moved: string } | { failed: string; type: string | undefined };

function childFailure(error: unknown): { failed: string; type: string | undefined } {
  const cause = error instanceof ChildWorkflowFailure ? error.cause : error;
  if (cause instanceof ApplicationFailure)
    return { failed: cause.message, type: cause.type ?? undefined };
  return { failed: cause instanceof Error ? cause.message : String(cause), type: undefined };
}

async function runChild(
  state: DrainState,
  item: DrainItem,
  move: Exclude<DrainMove, { refused: string }>,
  inFlight: InFlight,
): Promise<Outcome | 'busy'> {
  const operation = move.workflowType === 'liveMigration' ? 'live-migration' : 'migration';
  let handle: ChildWorkflowHandle<MoveWorkflow>;
  try {
    handle = await startChild<MoveWorkflow>(move.workflowType, {
      workflowId: instanceWorkflowId(item.instanceUuid),
      args: [move.input],
      workflowIdReusePolicy: 'ALLOW_DUPLICATE',
      memo: { migrationUuid: move.migrationUuid, drainUuid: state.drainUuid },
      typedSearchAttributes: [
        { key: FerryInstance, value: item.instanceName },
        { key: FerryOperation, value: operation },
        {
          key: FerryStatus,
          value: move.workflowType === 'liveMigration' ? 'accepted' : 'pre-migrating',
        },
        { key: FerrySourceHost, value: move.input.sourceHost },
      ],
    });
  } catch (error) {
    if (error instanceof WorkflowExecutionAlreadyStartedError) return 'busy';
    throw error;
  }
  const flight = { handle, action: item.action as 'live' | 'cold' };
  inFlight.set(item.instanceUuid, flight);
  try {
    if (state.aborting) await abortMove(flight);
    const result = await handle.result();
    return { moved: result.destHost ?? '' };
  } catch (error) {
    return childFailure(error);
  } finally {
    inFlight.delete(item.instanceUuid);
  }
}

/**
 * Moves one item until it is moved, failed or left: each attempt records its own Migration;
 * a retryable failure waits (doubling) and tries again, up to the drain's attempts, unless the
 * deadline passed or the drain is aborted meanwhile.
 */
export async function moveInstance(
  state: DrainState,
  item: DrainItem,
  drain: { pastDeadline: () => boolean; inFlight: InFlight; retryDelaySeconds?: number },
): Promise<void> {
  const { pastDeadline, inFlight } = drain;
  const delayMs = (drain.retryDelaySeconds ?? RETRY_DELAY_SECONDS) * 1000;
  const save = () => drainControl.recordDrainItems({ drainUuid: state.drainUuid, items: [item] });
  const end = async (to: 'moved' | 'failed' | 'left', reason: string | null) => {
    item.state = to;
    item.reason = reason;
    await save();
  };
  item.state = 'moving';
  for (;;) {
    if (state.aborting) return end('left', 'drain aborted before its move started');
    if (pastDeadline())
      return end('left', joined('deadline passed before its move started', item.reason));
    const move = await drainControl.startDrainMove({
      drainUuid: state.drainUuid,
      instanceUuid: item.instanceUuid,
      attempt: item.attempts + 1,
      action: item.action as 'live' | 'cold',
      requestedHost: item.requestedHost,
    });
    if ('refused' in move) return end('left', move.refused);
    // startDrainMove recorded the attempt and its Migration with the item.
    item.attempts += 1;
    item.lastMigrationUuid = move.migrationUuid;
    const outcome = await runChild(state, item, move, inFlight);
    if (outcome === 'busy') {
      item.attempts -= 1;
      await drainControl.discardDrainMove({ migrationUuid: move.migrationUuid });
      return end('left', 'another operation is in progress on the instance');
    }
    if ('moved' in outcome) {
      item.destHost = outcome.moved;
      return end('moved', null);
    }
    if (state.aborting) return end('left', `drain aborted, rolled back: ${outcome.failed}`);
    if (!RETRYABLE.has(outcome.type ?? '') || item.attempts >= state.attempts) {
      return end('failed', outcome.failed);
    }
    item.reason = outcome.failed;
    await save();
    await condition(() => state.aborting, delayMs * 2 ** (item.attempts - 1));
  }
}

function joined(first: string, then: string | null): string {
  return then === null ? first : `${first} (last attempt: ${then})`;
}
