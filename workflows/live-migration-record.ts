/** The record of a live migration: the operation's, with its block migration and job progress. */
import { condition, isCancellation, log, patched } from '@temporalio/workflow';
import { control, progressControl } from './activity-proxies';
import { failureMessage } from './failures';
import type {
  LiveMigrationInput,
  LiveMigrationState,
  LiveMigrationStatus,
  MigrationProgress,
} from './live-migration-contract';
import { OperationRecord } from './operation-record';
import type { ActionEventRecord } from './operation-types';

/**
 * The agent signals a running job's progress; the workflow writes the latest to the database at
 * most this often (docs/host-agent.md, "Progress"). Workflows started before keep their commands.
 */
const PROGRESS_SAVED_BY_CONTROL = 'progress-saved-by-control';
const PROGRESS_SAVE_INTERVAL_MS = 2_000;

/**
 * A step's finish is held until the migration's next database write (the next step's start, a
 * status transition, the completion) and recorded in the same local activity, and the running
 * step's start rides with the transition to running: users see the same events in the same order
 * (a step's start before it runs, its finish after) for 7 fewer local activities a migration, each
 * a workflow task's marker and an entry into the workflow's context. A failed step's finish is
 * recorded at once. Workflows started before keep their commands: a local activity per event.
 */
const ACTION_EVENTS_BATCHED = 'action-events-batched';

export class LiveMigrationRecord extends OperationRecord<LiveMigrationState> {
  private unsavedProgress: MigrationProgress | undefined;
  private savingStopped = false;
  private saving: Promise<void> | undefined;
  /** Finishes of steps not recorded yet, for the next write to carry. */
  private pendingEvents: ActionEventRecord[] = [];
  /** The step whose start the last transition recorded. */
  private startedByTransition: string | undefined;

  constructor(input: LiveMigrationInput) {
    super({
      migrationUuid: input.migrationUuid,
      instanceUuid: input.instanceUuid,
      instanceName: input.instanceName,
      operation: 'live-migration',
      status: 'accepted',
      step: 'accepted',
      sourceHost: input.sourceHost,
      destHost: null,
      blockMigration: null,
      progress: null,
      error: null,
      refusedHosts: [],
    });
  }

  /**
   * A new status, everywhere; with `starts`, the start of that step too, which must be the next
   * step run.
   */
  async transition(
    status: LiveMigrationStatus,
    step: string = status,
    starts?: string,
  ): Promise<void> {
    const update = {
      migrationUuid: this.migrationUuid,
      status,
      ...(this.state.destHost ? { destHost: this.state.destHost } : {}),
    };
    if (!patched(ACTION_EVENTS_BATCHED)) {
      await control.setMigrationStatus(update);
    } else {
      const start = starts === undefined ? [] : [this.event(starts, 'start')];
      await this.withPendingEvents(start, (events) =>
        control.setMigrationStatus(events.length > 0 ? { ...update, events } : update),
      );
      this.startedByTransition = starts;
    }
    this.reached(status, step);
  }

  override step<T>(event: string, run: () => Promise<T>): Promise<T> {
    if (!patched(ACTION_EVENTS_BATCHED)) return super.step(event, run);
    this.state.step = event;
    return this.batchedStep(event, run);
  }

  /**
   * Runs `write` with the events not recorded yet followed by `next`; once it succeeds they are
   * recorded. The completion's write carries the last step's finish this way.
   */
  async withPendingEvents<T>(
    next: ActionEventRecord[],
    write: (events: ActionEventRecord[]) => Promise<T>,
  ): Promise<T> {
    const result = await write([...this.pendingEvents, ...next]);
    this.pendingEvents = [];
    return result;
  }

  /**
   * Records the finishes still held, for an end whose write carries no events (a rollback's
   * failMigration). Nothing to record on the unpatched path, so its commands are unchanged.
   */
  async flushEvents(): Promise<void> {
    if (this.pendingEvents.length === 0) return;
    await this.withPendingEvents([], (events) => control.recordActionEvents(events));
  }

  private async batchedStep<T>(event: string, run: () => Promise<T>): Promise<T> {
    if (this.startedByTransition === event) this.startedByTransition = undefined;
    else {
      await this.withPendingEvents([this.event(event, 'start')], (events) =>
        control.recordActionEvents(events),
      );
    }
    try {
      const value = await run();
      this.pendingEvents.push({ ...this.event(event, 'finish'), result: 'Success' });
      return value;
    } catch (error) {
      const details = failureMessage(error);
      this.pendingEvents.push({ ...this.event(event, 'finish'), result: 'Error', details });
      // The step's own failure is what propagates, not a failure to record it.
      await this.withPendingEvents([], (events) => control.recordActionEvents(events)).catch(
        () => undefined,
      );
      throw error;
    }
  }

  private event(event: string, phase: 'start' | 'finish'): ActionEventRecord {
    return { migrationUuid: this.migrationUuid, event, phase };
  }

  blockMigrationDecided(blockMigration: boolean): void {
    this.state.blockMigration = blockMigration;
  }

  progressed(progress: MigrationProgress): void {
    this.state.progress = progress;
    this.unsavedProgress = progress;
  }

  /** From now until stopSavingProgress, the latest progress is saved, every 2 s at most. */
  saveProgressWhileRunning(): void {
    if (patched(PROGRESS_SAVED_BY_CONTROL)) this.saving = this.saveProgress();
  }

  /** Ends the saving, after the write in flight if any: none comes after the final state's. */
  async stopSavingProgress(): Promise<void> {
    this.savingStopped = true;
    await this.saving;
  }

  /**
   * Waits for progress newer than the last write and at least the interval after it, by workflow
   * time: the next signal wakes it, so the throttle needs no timer in the history.
   */
  private async saveProgress(): Promise<void> {
    let savedAt = -Infinity;
    const due = () =>
      this.unsavedProgress !== undefined && Date.now() - savedAt >= PROGRESS_SAVE_INTERVAL_MS;
    try {
      for (;;) {
        await condition(() => this.savingStopped || due());
        const progress = this.unsavedProgress;
        if (this.savingStopped || progress === undefined) return;
        this.unsavedProgress = undefined;
        savedAt = Date.now();
        await progressControl
          .saveMigrationProgress({ migrationUuid: this.migrationUuid, progress })
          .catch((error: unknown) => {
            if (isCancellation(error)) throw error;
            // Progress is for display: the next write carries newer counters.
            log.warn('migration progress not saved', { error: failureMessage(error) });
          });
      }
    } catch (error) {
      // Cancelled with the workflow, whose rollback then writes the final state.
      if (!isCancellation(error))
        log.error('progress saving ended', { error: failureMessage(error) });
    }
  }
}
