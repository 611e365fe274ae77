/**
 * What an operation (live migration, resize or cold migration) has reached, kept in step in three
 * places at every transition: the workflow's `status` query, its search attributes (the Temporal
 * UI), and the Migration row and instance action events (the database).
 */
import { ApplicationFailure, upsertSearchAttributes } from '@temporalio/workflow';
import { asActionEvent } from './action-events';
import { control } from './activity-proxies';
import { errorType, failureMessage } from './failures';
import type {
  OperationControlActivities,
  OperationState,
  OperationStatus,
} from './operation-types';
import { FerryDestHost, FerryStatus } from './search-attributes';

export class OperationRecord<State extends OperationState<OperationStatus>> {
  constructor(readonly state: State) {}

  get migrationUuid(): string {
    return this.state.migrationUuid;
  }

  /** The status in the query and the UI only (an activity already wrote it to the database). */
  reached(status: State['status'], step: string = status): void {
    this.state.status = status;
    this.state.step = step;
    upsertSearchAttributes([{ key: FerryStatus, value: status }]);
  }

  destinationChosen(host: string): void {
    this.state.destHost = host;
    upsertSearchAttributes([{ key: FerryDestHost, value: host }]);
  }

  /** Runs one step as an instance action event, shown as the current step meanwhile. */
  step<T>(event: string, run: () => Promise<T>): Promise<T> {
    this.state.step = event;
    return asActionEvent(this.migrationUuid, event, run);
  }

  /** The control worker's step that writes the Migration row's status. */
  protected statusControl(): Pick<OperationControlActivities, 'setMigrationStatus'> {
    return control;
  }

  /** The failure the workflow ends with: non-retryable, with the state as its details. */
  failure(type: string, message: string): ApplicationFailure {
    return ApplicationFailure.create({ type, message, nonRetryable: true, details: [this.state] });
  }

  /**
   * The operation could not begin (another one holds the instance, or it is in no state for this
   * one): the Migration row says why, and nothing of the instance is touched.
   */
  async refused(error: unknown): Promise<never> {
    this.state.error = failureMessage(error);
    await this.statusControl().setMigrationStatus({
      migrationUuid: this.migrationUuid,
      status: 'error',
      error: this.state.error,
    });
    this.reached('error', 'refused');
    throw this.failure(errorType(error) ?? 'MigrationError', this.state.error);
  }
}
