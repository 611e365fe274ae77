/**
 * Resize and cold migration, Nova's lifecycle: pre-migrating → queued (for a fleet slot) →
 * migrating → post-migrating → finished (VERIFY_RESIZE) → confirming → confirmed | reverting →
 * reverted, or error with the instance back on its source. docs/architecture.md, "Resize and cold migration".
 */
import {
  CancellationScope,
  allHandlersFinished,
  condition,
  patched,
  setHandler,
  sleep,
} from '@temporalio/workflow';
import { control, copyingAgent, resizeControl, resizingAgent } from './activity-proxies';
import { chooseDestination } from './choose-destination';
import { Compensations, rollbackMessage } from './compensations';
import { errorType, failureMessage } from './failures';
import { resizePlan } from './operation-policy';
import type { ResizeInput, ResizePlan, ResizeSourceSnapshot, ResizeState } from './resize-contract';
import {
  abortResizeSignal,
  confirmSignal,
  confirmUpdate,
  resizeStatusQuery,
  revertSignal,
  revertUpdate,
} from './resize-messages';
import { ResizeRecord } from './resize-record';
import { sharesInstancesDir } from './shared-storage';

type Decision = 'confirm' | 'revert' | 'auto-confirm';

/** Resizes wait for a slot under max_concurrent_migrations before the guest is powered off. */
const FLEET_MIGRATION_SLOTS = 'fleet-migration-slots';

/** The destination's sshd and key come from the control plane: agents read no database. */
const COPY_PEER_FROM_CONTROL = 'copy-peer-from-control';

/** Hosts that share the instances dir copy the disks inside it, not over SSH (docs/resize.md). */
const SHARED_STORAGE_COPY = 'shared-storage-copy';

/** What the source set aside, and whether the destination sees the same instances dir. */
type MovedInstance = ResizeSourceSnapshot & { sharedStorage: boolean };

export async function resize(request: ResizeInput): Promise<ResizeState> {
  const { migrationUuid } = request;
  const record = new ResizeRecord(request);
  const { state } = record;
  let decision: Decision | undefined;
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
  let abortRequested = false;
  setHandler(abortResizeSignal, () => {
    if (['pre-migrating', 'migrating', 'post-migrating'].includes(state.status)) {
      abortRequested = true;
    }
  });
  const input = await resizePlan(request);

  try {
    await resizeControl.beginResize({ migrationUuid, requestedBy: input.requestedBy });
  } catch (error) {
    return await record.refused(error);
  }

  const snapshot = await migrateAndFinish(input, record, () => abortRequested);
  if (input.confirmAtOnce === true) {
    // A drain's cold move: the source must end empty, and a cancellation (the drain aborted)
    // arriving now must not stop a confirm halfway (docs/drain.md, "Cold moves").
    decision = 'confirm';
    await CancellationScope.nonCancellable(() => confirm(input, record, snapshot, false));
    await condition(allHandlersFinished);
    return state;
  }
  const window = input.confirmWindowSeconds;
  const asked = () => decision !== undefined;
  if (window === 0) await condition(asked);
  else if (!(await condition(asked, window * 1000))) decision = 'auto-confirm';
  await (decision === 'revert'
    ? revert(input, record, snapshot)
    : confirm(input, record, snapshot, decision === 'auto-confirm'));
  await condition(allHandlersFinished);
  return state;
}

/** Destination, power off, copy, define and start there; rolled back on failure. */
async function migrateAndFinish(
  input: ResizePlan,
  record: ResizeRecord,
  aborted: () => boolean,
): Promise<MovedInstance> {
  const { migrationUuid, instanceUuid, sourceHost } = input;
  const { state } = record;
  const undo = new Compensations();
  // A drain's abort takes effect between steps, once each step's undo is known (never mid-step).
  const stopIfAborted = () => {
    if (aborted()) throw new Error('aborted by the drain');
  };
  try {
    undo.add('release the resource claims', () => control.releaseClaims({ migrationUuid }));
    const dest = await record.step('schedule', () =>
      chooseDestination(record, {
        requestedHost: input.requestedHost,
        schedulerMaxAttempts: input.schedulerMaxAttempts,
        allowSameHost: input.allowSameHost,
        claimAndCheck: async (host) => {
          await control.claimResources({ migrationUuid, host });
          return host;
        },
        triesNext: (error) => errorType(error) === 'MigrationPreCheckError',
      }),
    );
    record.destinationChosen(dest);
    stopIfAborted();
    const sameHost = dest === sourceHost;
    if (patched(FLEET_MIGRATION_SLOTS)) await waitForSlot(record);
    const sharedStorage =
      !sameHost &&
      patched(SHARED_STORAGE_COPY) &&
      (await record.step('check_shared_storage', () => sharesInstancesDir(sourceHost, dest)));
    await record.transition('migrating', 'resize_migrating');

    const snapshot = await record.step('compute_resize_instance', () =>
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
    stopIfAborted();
    if (!sameHost) {
      undo.add(`remove the instance from ${dest}`, () =>
        resizingAgent(dest).removeResizedInstance({ instanceUuid, disks: snapshot.disks }),
      );
      state.totalBytes = snapshot.disks.reduce((sum, disk) => sum + disk.virtualSizeBytes, 0);
      state.copiedBytes = 0;
      const copy = sharedStorage ? copyInSharedStorage : copyOverSsh;
      await copy(record, { ...input, destHost: dest }, snapshot, stopIfAborted);
    }
    await record.transition('post-migrating', 'resize_migrated');
    await record.transition('post-migrating', 'resize_finish');
    const finished = await record.step('compute_finish_resize', () =>
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
      // Undefined when replaying a history recorded before the agent returned its definition.
      ...(finished?.domainXml === undefined ? {} : { domainXml: finished.domainXml }),
    });
    record.reached('finished', 'verify_resize');
    return { ...snapshot, sharedStorage };
  } catch (error) {
    return CancellationScope.nonCancellable(async () => {
      const reason = failureMessage(error);
      const failed = await undo.run();
      const message = rollbackMessage(reason, failed);
      await record.failed(message, failed.length > 0, 'rolled back');
      throw record.failure(errorType(error) ?? 'MigrationError', message);
    });
  }
}

type CopyPlan = ResizePlan & { destHost: string };

/** Each set-aside disk copied from the source to its own path on the destination over SSH. */
async function copyOverSsh(
  record: ResizeRecord,
  input: CopyPlan,
  snapshot: ResizeSourceSnapshot,
  stopIfAborted: () => void,
): Promise<void> {
  const peer = patched(COPY_PEER_FROM_CONTROL)
    ? { dest: await control.describeHost({ host: input.destHost }) }
    : {};
  for (const disk of snapshot.disks) {
    const copied = await record.step(`copy_disk:${disk.target}`, () =>
      copyingAgent(input.sourceHost).copyDiskToHost({
        instanceUuid: input.instanceUuid,
        disk,
        asideDir: snapshot.asideDir as string,
        destHost: input.destHost,
        ...peer,
      }),
    );
    record.state.copiedBytes = (record.state.copiedBytes ?? 0) + copied.bytesSent;
    stopIfAborted();
  }
}

/** Each set-aside disk copied to its own path in the shared instances dir, on the source. */
async function copyInSharedStorage(
  record: ResizeRecord,
  input: CopyPlan,
  snapshot: ResizeSourceSnapshot,
  stopIfAborted: () => void,
): Promise<void> {
  for (const disk of snapshot.disks) {
    const copied = await record.step(`copy_disk_in_shared_storage:${disk.target}`, () =>
      copyingAgent(input.sourceHost).copyDiskInSharedStorage({
        instanceUuid: input.instanceUuid,
        disk,
        asideDir: snapshot.asideDir as string,
      }),
    );
    record.state.copiedBytes = (record.state.copiedBytes ?? 0) + copied.bytesCopied;
    stopIfAborted();
  }
}

/** `queued` (task_state still resize_prep, the guest untouched) until the fleet has a slot. */
async function waitForSlot(record: ResizeRecord): Promise<void> {
  await record.transition('queued', 'resize_prep');
  let wait = 1;
  while (!(await control.acquireMigrationSlot({ migrationUuid: record.migrationUuid }))) {
    await sleep(`${wait}s`);
    wait = Math.min(wait * 2, 10);
  }
}

/**
 * Like Nova, the root disk is grown only when the new flavor's is bigger than the old one's; a cold
 * migration (or a resize that keeps the disk size) leaves it as it is (0: nothing to grow to).
 */
function grownRootDiskGiB(input: ResizeInput): number {
  return input.newSize.rootDiskGiB > input.oldSize.rootDiskGiB ? input.newSize.rootDiskGiB : 0;
}

/** Confirm: the old domain and disks go from the source; every claim is released. */
async function confirm(
  input: ResizeInput,
  record: ResizeRecord,
  snapshot: MovedInstance,
  auto: boolean,
): Promise<void> {
  record.state.confirmedBy = auto ? 'auto-confirm' : 'user';
  await record.transition('confirming', 'resize_confirming');
  await settle(record, 'confirm_resize', async () => {
    if (record.state.destHost !== input.sourceHost) {
      await resizingAgent(input.sourceHost).confirmResizeAtSource({
        instanceUuid: input.instanceUuid,
        asideDir: snapshot.asideDir,
        sharedStorage: snapshot.sharedStorage,
      });
    }
    await resizeControl.confirmResize({ migrationUuid: input.migrationUuid, auto });
  });
  record.reached('confirmed');
}

/** Revert: the destination emptied, the source restored with its old flavor and started. */
async function revert(
  input: ResizeInput,
  record: ResizeRecord,
  snapshot: ResizeSourceSnapshot,
): Promise<void> {
  const { instanceUuid, sourceHost } = input;
  const dest = record.state.destHost as string;
  await record.transition('reverting', 'resize_reverting');
  await settle(record, 'revert_resize', async () => {
    if (dest !== sourceHost) {
      await resizingAgent(dest).removeResizedInstance({ instanceUuid, disks: snapshot.disks });
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
    await resizeControl.revertResize({
      migrationUuid: input.migrationUuid,
      domainXml: snapshot.domainXml,
    });
  });
  record.reached('reverted');
}

/** A confirm or revert that fails leaves the instance in ERROR with the reason, never silently. */
async function settle(record: ResizeRecord, event: string, run: () => Promise<void>) {
  try {
    await record.step(event, run);
  } catch (error) {
    const message = `${event} failed: ${failureMessage(error)}`;
    await record.failed(message, true);
    throw record.failure('MigrationError', message);
  }
}
