/**
 * Reports a migration's progress (a signal to its workflow) at most once per interval,
 * without ever holding up the monitor: a report still in flight makes the next offer a no-op, and
 * a failed report is logged, never thrown.
 */
import { log } from '@temporalio/activity';
import type { MigrationProgress } from '../../../workflows/live-migration-contract';

export class ProgressReporter {
  private inFlight: Promise<void> | null = null;
  private lastAt: number | null = null;

  constructor(
    private readonly send: (progress: MigrationProgress) => Promise<void>,
    private readonly intervalMs: number,
  ) {}

  /** Starts a report if none ran in the last interval (as of `now`) and none is in flight. */
  offer(progress: MigrationProgress, now: number): void {
    if (this.inFlight !== null) return;
    if (this.lastAt !== null && now - this.lastAt < this.intervalMs) return;
    this.lastAt = now;
    this.start(progress);
  }

  /** Waits for the report in flight, then reports `progress` and waits for that one too. */
  async final(progress: MigrationProgress): Promise<void> {
    await this.settled();
    this.start(progress);
    await this.inFlight;
  }

  /**
   * Waits for the report in flight, if any, and sends none: a completed migration's final progress
   * travels in the activity's result, which the workflow records and the completion writes to the
   * Migration row, so a last report would be a signal for nothing.
   */
  async settled(): Promise<void> {
    await this.inFlight;
  }

  private start(progress: MigrationProgress): void {
    this.inFlight = this.send(progress)
      .catch((error: unknown) => {
        log.warn('could not report migration progress', {
          error: error instanceof Error ? error.message : String(error),
        });
      })
      .finally(() => {
        this.inFlight = null;
      });
  }
}
