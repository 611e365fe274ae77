import { CancellationScope, log } from '@temporalio/workflow';
import { failureMessage } from './failures';

/** One undo step, registered right after the step it undoes. */
interface Compensation {
  what: string;
  undo: () => Promise<void>;
}

/**
 * The saga's undo list. run() undoes in reverse order inside a non-cancellable scope and carries
 * on past a failed step, so every step gets its chance; the failures are returned, never lost.
 */
export class Compensations {
  private readonly steps: Compensation[] = [];

  add(what: string, undo: () => Promise<void>): void {
    this.steps.push({ what, undo });
  }

  run(): Promise<string[]> {
    return CancellationScope.nonCancellable(async () => {
      const failures: string[] = [];
      for (const step of [...this.steps].reverse()) {
        try {
          await step.undo();
        } catch (error) {
          const reason = `${step.what}: ${failureMessage(error)}`;
          log.error('compensation failed', { compensation: step.what, error: reason });
          failures.push(reason);
        }
      }
      this.steps.length = 0;
      return failures;
    });
  }
}

/** The reason an operation failed, with the undo steps that failed in turn, if any. */
export function rollbackMessage(reason: string, failures: string[]): string {
  return failures.length > 0 ? `${reason}; rollback failed: ${failures.join('; ')}` : reason;
}
