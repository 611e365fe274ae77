/** The record of a live migration: the operation's, with its block migration and job progress. */
import { condition, isCancellation, log, patched } from '@temporalio/workflow';
import {
  type LiveMigrationControl,
  liveMigrationControl,
  mergedLiveMigrationControl,
  progressControl,
} from './activity-proxies';
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

/**
 * Where two steps meet, one local activity does both (docs/local-activities.md, "Merged steps"):
 * the begin with the policy and the source check's start, the scheduler's call with its step's
 * start, the claim with the destination check's start, the queue with the slot and the prepare's
 * start, the running status with the destination's address. A workflow started with this patch
 * has every earlier one's behaviour and checks none of them, so this one marker replaces four
 * (each marker also upserts TemporalChangeVersion). Workflows started before keep their commands.
 */
const CONTROL_STEPS_MERGED = 'control-steps-merged';

export class LiveMigrationRecord extends OperationRecord<LiveMigrationState> {
  private unsavedProgress: MigrationProgress | undefined;
  private savingStopped = false;
  private saving: Promise<void> | undefined;
  /** Finishes of steps not recorded yet, for the next write to carry. */
  private pendingEvents: ActionEventRecord[] = [];
  /** The step whose start the last transition recorded. */
  private startedByTransition: string | undefined;
  /** Whether this migration's steps are merged (CONTROL_STEPS_MERGED): decided once, first. */
  readonly merged: boolean;
  /** The control worker's steps as this migration calls them. */
  readonly control: LiveMigrationControl;

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
    this.merged = patched(CONTROL_STEPS_MERGED);
    this.control = this.merged ? mergedLiveMigrationControl : liveMigrationControl;
  }

  protected override statusControl(): LiveMigrationControl {
    return this.control;
  }

  /** Steps are batched as ACTION_EVENTS_BATCHED says; a merged migration's always are. */
  private get batched(): boolean {
    return this.merged || patched(ACTION_EVENTS_BATCHED);
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
    if (!this.batched) {
      await this.control.setMigrationStatus(update);
    } else {
      await this.carry(starts, (events) =>
        this.control.setMigrationStatus(events.length > 0 ? { ...update, events } : update),
      );
    }
    this.reached(status, step);
  }

  /**
   * Runs `write`, a database write, with the finishes held and, with `starts`, that step's start,
   * which must be the next step run: that step then records no start of its own.
   */
  async carry<T>(
    starts: string | undefined,
    write: (events: ActionEventRecord[]) => Promise<T>,
  ): Promise<T> {
    const start = starts === undefined ? [] : [this.event(starts, 'start')];
    const value = await this.withPendingEvents(start, write);
    this.startedByTransition = starts;
    return value;
  }

  override step<T>(event: string, run: () => Promise<T>): Promise<T> {
    if (!this.batched) return super.step(event, run);
    this.state.step = event;
    return this.batchedStep(event, run);
  }

  /**
   * A step whose work is a database write: that write records the step's start with the finishes
   * held, or, when it fails, the step's failure does.
   */
  writingStep<T>(event: string, write: (events: ActionEventRecord[]) => Promise<T>): Promise<T> {
    this.startedByTransition = event;
    return this.step(event, () => {
      this.pendingEvents.push(this.event(event, 'start'));
      return this.withPendingEvents([], write);
    });
  }

  /**
   * Queued for the chosen destination, asking for a slot at once (merged steps); with the slot,
   * `next`'s start is recorded too.
   */
  async queue(limit: number, next: string): Promise<boolean> {
    const { destHost } = this.state;
    if (destHost === null) throw new Error('queued before a destination was chosen');
    const acquired = await this.withPendingEvents([], (events) =>
      this.control.queueMigration({
        migrationUuid: this.migrationUuid,
        destHost,
        limit,
        ...(events.length > 0 ? { events } : {}),
        eventsOnSlot: [this.event(next, 'start')],
      }),
    );
    if (acquired) this.startedByTransition = next;
    return acquired;
  }

  /** Asks again for the slot of a queued migration; with it, `next`'s start is recorded too. */
  async acquireSlot(limit: number, next: string): Promise<boolean> {
    const acquired = await this.control.acquireMigrationSlot({
      migrationUuid: this.migrationUuid,
      limit,
      events: [this.event(next, 'start')],
    });
    if (acquired) this.startedByTransition = next;
    return acquired;
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
    await this.withPendingEvents([], (events) => this.control.recordActionEvents(events));
  }

  private async batchedStep<T>(event: string, run: () => Promise<T>): Promise<T> {
    if (this.startedByTransition === event) this.startedByTransition = undefined;
    else {
      await this.withPendingEvents([this.event(event, 'start')], (events) =>
        this.control.recordActionEvents(events),
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
      await this.withPendingEvents([], (events) => this.control.recordActionEvents(events)).catch(
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
    if (this.merged || patched(PROGRESS_SAVED_BY_CONTROL)) this.saving = this.saveProgress();
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
