/**
 * Resize and cold migration, Nova's lifecycle: pre-migrating → migrating → post-migrating →
 * finished (VERIFY_RESIZE) → confirming → confirmed | reverting → reverted, or error with the
 * instance back on its source. DESIGN.md, "Resize and cold migrate".
 */
import {
  ApplicationFailure,
  CancellationScope,
  allHandlersFinished,
  condition,
  patched,
  setHandler,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import { asActionEvent } from './action-events';
import { control, copyingAgent, resizeControl, resizingAgent } from './activity-proxies';
import { Compensations } from './compensations';
import { errorType, failureMessage } from './failures';
import { resizePlan } from './operation-policy';
import {
  confirmSignal,
  confirmUpdate,
  resizeStatusQuery,
  revertSignal,
  revertUpdate,
} from './resize-messages';
import type {
  ResizeInput,
  ResizePlan,
  ResizeSourceSnapshot,
  ResizeState,
  ResizeStatus,
  ResizeTaskState,
} from './resize-types';
import { FerryDestHost, FerryStatus } from './search-attributes';

type Decision = 'confirm' | 'revert' | 'auto-confirm';

/** The destination's sshd and key come from the control plane: agents read no database. */
const COPY_PEER_FROM_CONTROL = 'copy-peer-from-control';

function failure(type: string, message: string, state: ResizeState): ApplicationFailure {
  return ApplicationFailure.create({ type, message, nonRetryable: true, details: [state] });
}

export async function resize(request: ResizeInput): Promise<ResizeState> {
  const { migrationUuid, instanceUuid, sourceHost } = request;
  const state: ResizeState = {
    migrationUuid,
    instanceUuid,
    instanceName: request.instanceName,
    operation: request.migrationType,
    status: 'pre-migrating',
    step: 'resize_prep',
    sourceHost,
    destHost: null,
    copiedBytes: null,
    totalBytes: null,
    confirmDeadline: null,
    confirmedBy: null,
    error: null,
  };
  let decision: Decision | undefined;
  const reached = (status: ResizeStatus, step: string) => {
    state.status = status;
    state.step = step;
    upsertSearchAttributes([{ key: FerryStatus, value: status }]);
  };
  const progress = async (status: ResizeStatus, taskState: ResizeTaskState | null) => {
    await resizeControl.setResizeProgress({
      migrationUuid,
      status,
      taskState,
      ...(state.destHost ? { destHost: state.destHost } : {}),
    });
    reached(status, taskState ?? status);
  };
  const awaitingDecision = (what: string) => {
    if (state.status !== 'finished' || decision !== undefined) {
      throw new Error(
        `cannot ${what} ${state.instanceName}: it is not in VERIFY_RESIZE (migration ${state.status})`,
      );
    }
  };
  const decided = async () => {
    await condition(() => ['confirmed', 'reverted', 'error'].includes(state.status));
    return state;
  };
  setHandler(resizeStatusQuery, () => state);
  setHandler(confirmUpdate, () => ((decision = 'confirm'), decided()), {
    validator: () => awaitingDecision('confirm'),
  });
  setHandler(revertUpdate, () => ((decision = 'revert'), decided()), {
    validator: () => awaitingDecision('revert'),
  });
  setHandler(confirmSignal, () => {
    if (state.status === 'finished') decision ??= 'confirm';
  });
  setHandler(revertSignal, () => {
    if (state.status === 'finished') decision ??= 'revert';
  });
  const input = await resizePlan(request);

  try {
    await resizeControl.beginResize({ migrationUuid, requestedBy: input.requestedBy });
  } catch (error) {
    state.error = failureMessage(error);
    await control.setMigrationStatus({ migrationUuid, status: 'error', error: state.error });
    reached('error', 'refused');
    throw failure(errorType(error) ?? 'MigrationError', state.error, state);
  }

  const snapshot = await migrateAndFinish(input, state, progress);
  const window = input.confirmWindowSeconds;
  const asked = () => decision !== undefined;
  if (window === 0) await condition(asked);
  else if (!(await condition(asked, window * 1000))) decision = 'auto-confirm';
  await (decision === 'revert'
    ? revert(input, state, snapshot, progress)
    : confirm(input, state, snapshot, progress, decision === 'auto-confirm'));
  await condition(allHandlersFinished);
  return state;
}

type Progress = (status: ResizeStatus, taskState: ResizeTaskState | null) => Promise<void>;

/** Steps 2–5: destination, power off, copy, define and start there; rolled back on failure. */
async function migrateAndFinish(
  input: ResizePlan,
  state: ResizeState,
  progress: Progress,
): Promise<ResizeSourceSnapshot> {
  const { migrationUuid, instanceUuid, sourceHost } = input;
  const undo = new Compensations();
  try {
    undo.add('release the resource claims', () => control.releaseClaims({ migrationUuid }));
    const dest = await asActionEvent(migrationUuid, 'schedule', () =>
      chooseResizeDestination(input),
    );
    state.destHost = dest;
    upsertSearchAttributes([{ key: FerryDestHost, value: dest }]);
    const sameHost = dest === sourceHost;
    await progress('migrating', 'resize_migrating');

    const snapshot = await asActionEvent(migrationUuid, 'compute_resize_instance', () =>
      resizingAgent(sourceHost).powerOffAndSetAsideSource({
        instanceUuid,
        shutdownTimeoutSeconds: input.shutdownTimeoutSeconds,
        setAside: !sameHost,
      }),
    );
    undo.add(`restore the instance on ${sourceHost}`, async () => {
      if (sameHost) {
        // The resized domain may already run here: off first, so the old definition takes.
        await resizingAgent(sourceHost).powerOffAndSetAsideSource({
          instanceUuid,
          shutdownTimeoutSeconds: input.shutdownTimeoutSeconds,
          setAside: false,
        });
      }
      await resizingAgent(sourceHost).restoreSource({
        instanceUuid,
        domainXml: snapshot.domainXml,
        asideDir: snapshot.asideDir,
        disks: snapshot.disks,
        start: snapshot.wasRunning,
      });
    });
    if (!sameHost) {
      undo.add(`remove the instance from ${dest}`, () =>
        resizingAgent(dest).removeResizedInstance({ instanceUuid, disks: snapshot.disks }),
      );
      state.totalBytes = snapshot.disks.reduce((sum, disk) => sum + disk.virtualSizeBytes, 0);
      state.copiedBytes = 0;
      const peer = patched(COPY_PEER_FROM_CONTROL)
        ? { dest: await control.describeHost({ host: dest }) }
        : {};
      for (const disk of snapshot.disks) {
        const copied = await asActionEvent(migrationUuid, `copy_disk:${disk.target}`, () =>
          copyingAgent(sourceHost).copyDiskToHost({
            instanceUuid,
            disk,
            asideDir: snapshot.asideDir as string,
            destHost: dest,
            ...peer,
          }),
        );
        state.copiedBytes += copied.bytesSent;
      }
    }
    await progress('post-migrating', 'resize_migrated');
    await progress('post-migrating', 'resize_finish');
    await asActionEvent(migrationUuid, 'compute_finish_resize', () =>
      resizingAgent(dest).finishResizeAtDestination({
        instanceUuid,
        domainXml: snapshot.domainXml,
        disks: snapshot.disks,
        size: { ...input.newSize, rootDiskGiB: grownRootDiskGiB(input) },
        start: snapshot.wasRunning,
      }),
    );
    const window = input.confirmWindowSeconds;
    state.confirmDeadline = window > 0 ? new Date(Date.now() + window * 1000).toISOString() : null;
    await resizeControl.finishResize({
      migrationUuid,
      destHost: dest,
      confirmDeadline: state.confirmDeadline,
    });
    state.status = 'finished';
    state.step = 'verify_resize';
    upsertSearchAttributes([{ key: FerryStatus, value: 'finished' }]);
    return snapshot;
  } catch (error) {
    return CancellationScope.nonCancellable(async () => {
      const reason = failureMessage(error);
      const failed = await undo.run();
      const message =
        failed.length > 0 ? `${reason}; rollback failed: ${failed.join('; ')}` : reason;
      await resizeControl.failResize({
        migrationUuid,
        error: message,
        instanceError: failed.length > 0,
      });
      state.error = message;
      state.status = 'error';
      state.step = 'rolled back';
      upsertSearchAttributes([{ key: FerryStatus, value: 'error' }]);
      throw failure(errorType(error) ?? 'MigrationError', message, state);
    });
  }
}

/**
 * Like Nova, the root disk is grown only when the new flavor's is bigger than the old one's; a cold
 * migration (or a resize that keeps the disk size) leaves it as it is (0: nothing to grow to).
 */
function grownRootDiskGiB(input: ResizeInput): number {
  return input.newSize.rootDiskGiB > input.oldSize.rootDiskGiB ? input.newSize.rootDiskGiB : 0;
}

/** The scheduler's choices in order, the first that can be claimed (the source only if allowed). */
async function chooseResizeDestination(input: ResizePlan): Promise<string> {
  const exclude: string[] = [];
  const refused: string[] = [];
  for (let attempt = 1; attempt <= input.schedulerMaxAttempts; attempt++) {
    const [host] = await control.selectDestinations({
      migrationUuid: input.migrationUuid,
      requestedHost: input.requestedHost,
      exclude,
      allowSameHost: input.allowSameHost,
    });
    try {
      await control.claimResources({ migrationUuid: input.migrationUuid, host });
      return host;
    } catch (error) {
      if (input.requestedHost !== null || errorType(error) !== 'MigrationPreCheckError')
        throw error;
      refused.push(`${host}: ${failureMessage(error)}`);
      exclude.push(host);
    }
  }
  throw ApplicationFailure.create({
    type: 'NoValidHost',
    nonRetryable: true,
    message: `no valid host after ${input.schedulerMaxAttempts} attempts (${refused.join('; ')})`,
  });
}

/** Step 7, confirm: the old domain and disks go from the source; every claim is released. */
async function confirm(
  input: ResizeInput,
  state: ResizeState,
  snapshot: ResizeSourceSnapshot,
  progress: Progress,
  auto: boolean,
): Promise<void> {
  state.confirmedBy = auto ? 'auto-confirm' : 'user';
  await progress('confirming', 'resize_confirming');
  await settle(input, state, async () => {
    if (state.destHost !== input.sourceHost) {
      await resizingAgent(input.sourceHost).confirmResizeAtSource({
        instanceUuid: input.instanceUuid,
        asideDir: snapshot.asideDir,
      });
    }
    await resizeControl.confirmResize({ migrationUuid: input.migrationUuid, auto });
  });
  state.status = 'confirmed';
  state.step = 'confirmed';
  upsertSearchAttributes([{ key: FerryStatus, value: 'confirmed' }]);
}

/** Step 7, revert: the destination emptied, the source restored with its old flavor and started. */
async function revert(
  input: ResizeInput,
  state: ResizeState,
  snapshot: ResizeSourceSnapshot,
  progress: Progress,
): Promise<void> {
  const { instanceUuid, sourceHost } = input;
  await progress('reverting', 'resize_reverting');
  await settle(input, state, async () => {
    if (state.destHost !== sourceHost) {
      await resizingAgent(state.destHost as string).removeResizedInstance({
        instanceUuid,
        disks: snapshot.disks,
      });
    } else {
      await resizingAgent(sourceHost).powerOffAndSetAsideSource({
        instanceUuid,
        shutdownTimeoutSeconds: input.shutdownTimeoutSeconds,
        setAside: false,
      });
    }
    await resizingAgent(sourceHost).restoreSource({
      instanceUuid,
      domainXml: snapshot.domainXml,
      asideDir: snapshot.asideDir,
      disks: snapshot.disks,
      start: snapshot.wasRunning,
    });
    await resizeControl.revertResize({ migrationUuid: input.migrationUuid });
  });
  state.status = 'reverted';
  state.step = 'reverted';
  upsertSearchAttributes([{ key: FerryStatus, value: 'reverted' }]);
}

/** A confirm or revert that fails leaves the instance in ERROR with the reason, never silently. */
async function settle(input: ResizeInput, state: ResizeState, run: () => Promise<void>) {
  const event = state.status === 'reverting' ? 'revert_resize' : 'confirm_resize';
  try {
    await asActionEvent(input.migrationUuid, event, run);
  } catch (error) {
    const message = `${event} failed: ${failureMessage(error)}`;
    await resizeControl.failResize({
      migrationUuid: input.migrationUuid,
      error: message,
      instanceError: true,
    });
    state.error = message;
    state.status = 'error';
    upsertSearchAttributes([{ key: FerryStatus, value: 'error' }]);
    throw failure('MigrationError', message, state);
  }
}
