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

/**
 * The agent signals a running job's progress; the workflow writes the latest to the database at
 * most this often (docs/host-agent.md, "Progress"). Workflows started before keep their commands.
 */
const PROGRESS_SAVED_BY_CONTROL = 'progress-saved-by-control';
const PROGRESS_SAVE_INTERVAL_MS = 2_000;

export class LiveMigrationRecord extends OperationRecord<LiveMigrationState> {
  private unsavedProgress: MigrationProgress | undefined;
  private savingStopped = false;
  private saving: Promise<void> | undefined;

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

  /** A new status, everywhere. */
  async transition(status: LiveMigrationStatus, step: string = status): Promise<void> {
    await control.setMigrationStatus({
      migrationUuid: this.migrationUuid,
      status,
      ...(this.state.destHost ? { destHost: this.state.destHost } : {}),
    });
    this.reached(status, step);
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
