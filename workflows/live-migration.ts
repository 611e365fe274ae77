/**
 * Live migration, Nova's lifecycle: accepted → queued → preparing → running → completed, or
 * failed | cancelled | error with everything rolled back. docs/architecture.md, "Live migration".
 */
import {
  ApplicationFailure,
  CancellationScope,
  condition,
  isCancellation,
  log,
  setHandler,
} from '@temporalio/workflow';
import { compensatingAgent, hostAgent, migratingAgent } from './activity-proxies';
import { Compensations, rollbackMessage } from './compensations';
import { errorType, failureMessage } from './failures';
import { chooseLiveMigrationDestination, type Destination } from './live-migration-destination';
import { LiveMigrationRecord } from './live-migration-record';
import { liveMigrationPlan, liveMigrationPlanOf } from './operation-policy';
import {
  abortSignal,
  abortUpdate,
  forceCompleteUpdate,
  progressSignal,
  statusQuery,
} from './live-migration-messages';
import type { InstanceDisk, PeerHost } from './operation-types';
import type {
  LiveMigrationInput,
  LiveMigrationPlan,
  LiveMigrationState,
  LiveMigrationStatus,
  MigrationResult,
  SourceFacts,
} from './live-migration-contract';

/** The source's files of the instance, which its clean-up deletes once the guest has left. */
type SourceFiles = Pick<SourceFacts, 'disks' | 'consoleFiles'>;

const ABORTABLE: LiveMigrationStatus[] = ['queued', 'preparing', 'running'];

const SOURCE_CHECK = 'compute_check_can_live_migrate_source';
const PREPARE = 'compute_pre_live_migration';
const MIGRATE = 'compute_live_migration';

function refuseUnless(state: LiveMigrationState, allowed: LiveMigrationStatus[], what: string) {
  if (!allowed.includes(state.status)) {
    throw new Error(
      `cannot ${what} migration ${state.migrationUuid}: it is ${state.status}, not ${allowed.join(' or ')}`,
    );
  }
}

function cancelledByRequest(): ApplicationFailure {
  return ApplicationFailure.create({
    type: 'MigrationCancelled',
    nonRetryable: true,
    message: 'aborted at the request of the user',
  });
}

export async function liveMigration(request: LiveMigrationInput): Promise<LiveMigrationState> {
  const record = new LiveMigrationRecord(request);
  const { migrationUuid, instanceUuid, sourceHost } = request;
  let abortRequested = false;
  let migrating: CancellationScope | undefined;
  setHandler(statusQuery, () => record.state);
  setHandler(progressSignal, (progress) => record.progressed(progress));
  setHandler(
    abortUpdate,
    () => {
      abortRequested = true;
      migrating?.cancel();
      return record.state;
    },
    { validator: () => refuseUnless(record.state, ABORTABLE, 'abort') },
  );
  setHandler(abortSignal, () => {
    if (![...ABORTABLE, 'accepted'].includes(record.state.status)) return;
    abortRequested = true;
    migrating?.cancel();
  });
  setHandler(
    forceCompleteUpdate,
    async () => {
      const how = await hostAgent(sourceHost).forceCompleteLiveMigration({ instanceUuid });
      log.info('force-complete requested', { how });
      return record.state;
    },
    { validator: () => refuseUnless(record.state, ['running'], 'force-complete') },
  );
  const input = await begin(record, request);

  const undo = new Compensations();
  let destination: Destination | undefined;
  let files: SourceFiles = { disks: [], consoleFiles: [] };
  let migrationStarted = false;
  try {
    undo.add('release the resource claims', () => record.control.releaseClaims({ migrationUuid }));
    const source = await record.step(SOURCE_CHECK, () =>
      hostAgent(sourceHost).checkCanLiveMigrateSource({ instanceUuid }),
    );
    files = { disks: source.disks, consoleFiles: source.consoleFiles };
    const chosen = await chooseLiveMigrationDestination(record, input, source);
    destination = chosen;
    record.blockMigrationDecided(chosen.blockMigration);
    record.destinationChosen(chosen.host);

    await waitForSlot(record, input, () => abortRequested);
    const scope = new CancellationScope();
    migrating = scope;

    const created: string[] = [];
    undo.add(`remove what was made on ${chosen.host}`, () =>
      rollBackDestination(input, chosen.host, created),
    );
    const prepared = await record.step(PREPARE, () =>
      hostAgent(chosen.host).prepareLiveMigrationDestination({
        instanceUuid,
        directories: source.directories,
        disks: files.disks,
        blockMigration: chosen.blockMigration,
      }),
    );
    created.push(...prepared.created);
    if (abortRequested) throw cancelledByRequest();

    const peer = await startRunning(record, chosen.host);
    record.saveProgressWhileRunning();
    migrationStarted = true;
    undo.add(`resume the instance on ${sourceHost} if it was paused`, async () => {
      await compensatingAgent(sourceHost).resumeInstance({ instanceUuid });
    });
    const result = await record.step(MIGRATE, () =>
      scope.run(() => migrate(record, input, chosen, files.disks, peer)),
    );
    return await finish(record, input, chosen, files, result);
  } catch (error) {
    return await rollBack(record, undo, input, {
      error,
      destination,
      files,
      migrationStarted,
      cancelled: abortRequested || isCancellation(error),
    });
  }
}

/**
 * The migration begins under the control worker's policy, or is refused and ends here. Merged, the
 * begin also reads the policy and records the source check's start.
 */
async function begin(
  record: LiveMigrationRecord,
  request: LiveMigrationInput,
): Promise<LiveMigrationPlan> {
  const { migrationUuid, requestedBy } = request;
  if (record.merged) {
    const policy = await record
      .carry(SOURCE_CHECK, (events) =>
        record.control.beginLiveMigration({ migrationUuid, requestedBy, events }),
      )
      .catch((error: unknown) => record.refused(error));
    return liveMigrationPlanOf(request, policy);
  }
  const input = await liveMigrationPlan(request);
  await record.control
    .beginInstanceOperation({
      migrationUuid,
      taskState: 'migrating',
      action: 'live-migration',
      requestedBy,
    })
    .catch((error: unknown) => record.refused(error));
  return input;
}

/**
 * Queued until the source and the fleet have a slot for the migration. Merged, the first ask
 * rides with the queued status, and a migration that gets its slot at once is never shown queued.
 */
async function waitForSlot(
  record: LiveMigrationRecord,
  input: LiveMigrationPlan,
  aborted: () => boolean,
): Promise<void> {
  const limit = input.maxConcurrentPerSource;
  const ask = record.merged
    ? () => record.acquireSlot(limit, PREPARE)
    : () => record.control.acquireMigrationSlot({ migrationUuid: input.migrationUuid, limit });
  let acquired: boolean;
  if (record.merged) {
    acquired = await record.queue(limit, PREPARE);
    if (!acquired) record.reached('queued');
  } else {
    await record.transition('queued');
    acquired = await ask();
  }
  let wait = 1;
  while (!acquired) {
    if (await condition(aborted, `${wait}s`)) throw cancelledByRequest();
    wait = Math.min(wait * 2, 10);
    acquired = await ask();
  }
  record.reached('preparing', 'preparing');
}

/**
 * Status running, with the migration step's start; merged, the same write answers where the
 * destination's libvirt is, which a migration started without merged steps asks for in the
 * migration step.
 */
async function startRunning(
  record: LiveMigrationRecord,
  destHost: string,
): Promise<PeerHost | undefined> {
  if (!record.merged) {
    await record.transition('running', MIGRATE, MIGRATE);
    return undefined;
  }
  const peer = await record.carry(MIGRATE, (events) =>
    record.control.startLiveMigration({ migrationUuid: record.migrationUuid, destHost, events }),
  );
  record.reached('running', MIGRATE);
  return peer;
}

async function migrate(
  record: LiveMigrationRecord,
  input: LiveMigrationInput,
  destination: Destination,
  disks: InstanceDisk[],
  peer: PeerHost | undefined,
): Promise<MigrationResult> {
  const destHost = peer ?? (await record.control.describeHost({ host: destination.host }));
  return migratingAgent(input.sourceHost).liveMigrate({
    migrationUuid: input.migrationUuid,
    instanceUuid: input.instanceUuid,
    destHost: destination.host,
    destLibvirtUri: destHost.libvirtUri,
    blockMigration: destination.blockMigration,
    disks,
  });
}

/** The instance runs on the destination; clean the source and record it there. */
async function finish(
  record: LiveMigrationRecord,
  input: LiveMigrationInput,
  destination: Destination,
  files: SourceFiles,
  result: MigrationResult,
): Promise<LiveMigrationState> {
  await record.stopSavingProgress();
  record.progressed(result.progress);
  await record
    .step('compute_post_live_migration', () =>
      hostAgent(input.sourceHost).cleanupLiveMigrationSource({
        instanceUuid: input.instanceUuid,
        ...files,
        sharedStorage: destination.sharedStorage,
      }),
    )
    .catch((error: unknown) =>
      // The instance already runs on the destination: a source left untidy is logged, not undone.
      log.error('source clean-up failed after a completed migration', {
        error: failureMessage(error),
      }),
    );
  await record.withPendingEvents([], (events) =>
    record.control.completeLiveMigration({
      migrationUuid: input.migrationUuid,
      destHost: destination.host,
      result,
      ...(events.length > 0 ? { events } : {}),
    }),
  );
  record.reached('completed', 'completed');
  return record.state;
}

/** Destination rollback, only once the source is known to hold the instance still. */
async function rollBackDestination(
  input: LiveMigrationInput,
  dest: string,
  created: string[],
): Promise<void> {
  const onSource = await compensatingAgent(input.sourceHost).locateInstance({
    instanceUuid: input.instanceUuid,
  });
  if (onSource.presence === 'absent') {
    throw new Error(
      `the instance is not on ${input.sourceHost}: refusing to destroy its domain on ${dest}`,
    );
  }
  await compensatingAgent(dest).rollbackLiveMigrationAtDestination({
    instanceUuid: input.instanceUuid,
    created,
  });
}

interface Failure {
  error: unknown;
  destination: Destination | undefined;
  files: SourceFiles;
  migrationStarted: boolean;
  cancelled: boolean;
}

/**
 * Rollback, non-cancellable: a migration that in fact completed (the guest left the source and runs
 * on the destination) is finished, never undone; otherwise the libvirt job is aborted, the undo
 * list runs in reverse, and the Migration row says failed, cancelled, or error when an undo step
 * failed (the instance then goes to ERROR with the reason).
 */
function rollBack(
  record: LiveMigrationRecord,
  undo: Compensations,
  input: LiveMigrationInput,
  failure: Failure,
): Promise<LiveMigrationState> {
  return CancellationScope.nonCancellable(async () => {
    await record.stopSavingProgress();
    const { destination } = failure;
    if (failure.migrationStarted && destination) {
      const landed = await landedOnDestination(input, destination.host);
      if (landed) {
        log.warn('the migration completed despite the failure; finishing it', {
          error: failureMessage(failure.error),
        });
        return finish(record, input, destination, failure.files, landed);
      }
    }
    const reason = failure.cancelled
      ? 'aborted at the request of the user'
      : failureMessage(failure.error);
    record.state.error = reason;
    record.state.step = 'compute_rollback_live_migration';
    const failures = await record
      .step('compute_rollback_live_migration', async () => {
        const failed = await undo.run();
        if (failed.length > 0) throw new Error(failed.join('; '));
        return failed;
      })
      .catch((error: unknown) => [failureMessage(error)]);
    const status: 'failed' | 'cancelled' | 'error' =
      failures.length > 0
        ? 'error'
        : failure.cancelled
          ? 'cancelled'
          : failure.migrationStarted
            ? 'failed'
            : 'error';
    const error = rollbackMessage(reason, failures);
    await record.flushEvents();
    await record.control.failMigration({
      migrationUuid: input.migrationUuid,
      status,
      error,
      instanceError: failures.length > 0,
    });
    record.state.error = error;
    record.reached(status, status);
    throw record.failure(
      failure.cancelled ? 'MigrationCancelled' : (errorType(failure.error) ?? 'MigrationError'),
      error,
    );
  });
}

/**
 * Where the guest is after a failed migration step. When it has left the source and runs on the
 * destination the migration happened; otherwise any job still running is aborted.
 */
async function landedOnDestination(
  input: LiveMigrationInput,
  dest: string,
): Promise<MigrationResult | undefined> {
  const [onSource, onDest] = await Promise.all([
    compensatingAgent(input.sourceHost).locateInstance({ instanceUuid: input.instanceUuid }),
    compensatingAgent(dest).locateInstance({ instanceUuid: input.instanceUuid }),
  ]);
  if (onSource.presence === 'absent' && onDest.presence === 'running' && !onDest.migrating) {
    return {
      attached: true,
      elapsedMs: null,
      downtimeMs: null,
      forced: null,
      progress: {
        memoryTotalBytes: 0,
        memoryProcessedBytes: 0,
        memoryRemainingBytes: 0,
        diskTotalBytes: 0,
        diskProcessedBytes: 0,
        diskRemainingBytes: 0,
        percent: 100,
        postCopy: false,
      },
    };
  }
  if (onSource.migrating) {
    await compensatingAgent(input.sourceHost).abortLiveMigration({
      instanceUuid: input.instanceUuid,
    });
  }
  return undefined;
}
