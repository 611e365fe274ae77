/**
 * A host drain, as one workflow (docs/drain.md): disable the host, plan every instance, then move
 * them in a sliding window of child workflows, at most `concurrency` at once, until the host is
 * empty (completed), nothing more can move (incomplete, each left one with why) or an abort
 * (aborted). The same workflow with kind `return` moves a drain's instances back (undrain --return).
 */
import {
  allHandlersFinished,
  condition,
  makeContinueAsNewFunc,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import {
  DRAIN_HISTORY_LIMIT,
  type DrainInput,
  type DrainItem,
  type DrainState,
  type DrainStatus,
} from './drain-contract';
import { drainAbortUpdate, drainStatusQuery } from './drain-messages';
import { abortMove, drainControl, moveInstance, type InFlight } from './drain-move';
import { FerryStatus } from './search-attributes';

export async function hostDrain(input: DrainInput): Promise<DrainState> {
  const state: DrainState = {
    drainUuid: input.drainUuid,
    host: input.host,
    kind: input.kind,
    status: 'running',
    concurrency: input.carried?.concurrency ?? input.concurrency ?? 1,
    attempts: input.attempts,
    deadline: input.deadline,
    aborting: false,
    items: input.carried?.items ?? [],
    runs: input.carried?.runs ?? 1,
  };
  const inFlight: InFlight = new Map();
  setHandler(drainStatusQuery, () => state);
  setHandler(
    drainAbortUpdate,
    async () => {
      state.aborting = true;
      await Promise.all([...inFlight.values()].map(abortMove));
      return state;
    },
    {
      validator: () => {
        if (state.status !== 'running' || state.aborting) {
          throw new Error(
            `the drain of ${state.host} is ${state.aborting ? 'aborting' : state.status}`,
          );
        }
      },
    },
  );

  if (input.carried === undefined) {
    const begun = await drainControl.beginDrain({
      drainUuid: input.drainUuid,
      host: input.host,
      kind: input.kind,
      concurrency: input.concurrency,
      attempts: input.attempts,
      deadline: input.deadline,
      exclude: input.exclude,
      workflowId: workflowInfo().workflowId,
      requestedBy: input.requestedBy,
    });
    state.concurrency = begun.concurrency;
    state.items = begun.items;
  }
  const pending = state.items.filter((item) => ['planned', 'queued'].includes(item.state));
  pending.forEach((item) => (item.state = 'queued'));

  const deadline = input.deadline === null ? null : Date.parse(input.deadline);
  const pastDeadline = () => deadline !== null && Date.now() >= deadline;
  const historyLimit = input.historyLimit ?? DRAIN_HISTORY_LIMIT;
  let startedHere = 0;
  // A run always starts a window of moves, so a run that begins past the limit still progresses.
  const historyFull = () =>
    startedHere >= state.concurrency &&
    (workflowInfo().historyLength >= historyLimit || workflowInfo().continueAsNewSuggested);
  const continues = () => !state.aborting && !pastDeadline() && pending.length > 0;
  let active = 0;
  let ended = 0;
  let failure: unknown;
  for (;;) {
    const mayStart = !state.aborting && !pastDeadline() && !historyFull();
    while (mayStart && active < state.concurrency && pending.length > 0) {
      const item = pending.shift() as DrainItem;
      active += 1;
      startedHere += 1;
      moveInstance(state, item, {
        pastDeadline,
        inFlight,
        retryDelaySeconds: input.retryDelaySeconds,
      })
        .catch((error: unknown) => (failure ??= error))
        .finally(() => ((active -= 1), (ended += 1)));
    }
    if (active === 0 && (!mayStart || pending.length === 0)) break;
    const seen = ended;
    await condition(() => ended > seen || failure !== undefined);
    if (failure !== undefined) throw failure;
  }

  if (continues()) await condition(allHandlersFinished);
  if (continues()) {
    // The memo (which drain this is) and the search attributes go on with the drain.
    const info = workflowInfo();
    const next = makeContinueAsNewFunc<typeof hostDrain>({
      memo: info.memo,
      typedSearchAttributes: info.typedSearchAttributes,
    });
    await next({
      ...input,
      carried: { concurrency: state.concurrency, items: state.items, runs: state.runs + 1 },
    });
  }
  const why = state.aborting
    ? 'drain aborted before its move started'
    : 'deadline passed before its move started';
  pending.forEach((item) => ((item.state = 'left'), (item.reason = why)));
  if (pending.length > 0) {
    await drainControl.recordDrainItems({ drainUuid: state.drainUuid, items: pending });
  }
  state.status = endStatus(state);
  await drainControl.finishDrain({ drainUuid: state.drainUuid, status: state.status });
  upsertSearchAttributes([{ key: FerryStatus, value: state.status }]);
  await condition(allHandlersFinished);
  return state;
}

function endStatus(state: DrainState): DrainStatus {
  if (state.aborting) return 'aborted';
  return state.items.every((item) => item.state === 'moved') ? 'completed' : 'incomplete';
}

/** A dry run: the plan with the destinations the scheduler would pick now; nothing changes. */
export async function hostDrainPlan(request: {
  host: string;
  exclude: string[];
}): Promise<DrainItem[]> {
  return drainControl.planHostDrain(request);
}
