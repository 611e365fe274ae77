/**
 * What a live migration has reached, kept in step in three places at every transition: the
 * workflow's `status` query, its search attributes (the Temporal UI), and the Migration row and
 * instance action events (the database).
 */
import { upsertSearchAttributes } from '@temporalio/workflow';
import { control } from './activity-proxies';
import type {
  LiveMigrationInput,
  LiveMigrationState,
  LiveMigrationStatus,
  MigrationProgress,
} from './migration-types';
import { FerryDestHost, FerryStatus } from './search-attributes';
import { asActionEvent } from './action-events';

export class LiveMigrationRecord {
  readonly state: LiveMigrationState;

  constructor(input: LiveMigrationInput) {
    this.state = {
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
    };
  }

  get migrationUuid(): string {
    return this.state.migrationUuid;
  }

  /** The status in the query and the UI only (an activity already wrote it to the database). */
  reached(status: LiveMigrationStatus, step: string = status): void {
    this.state.status = status;
    this.state.step = step;
    upsertSearchAttributes([{ key: FerryStatus, value: status }]);
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

  destinationChosen(host: string, blockMigration: boolean): void {
    this.state.destHost = host;
    this.state.blockMigration = blockMigration;
    upsertSearchAttributes([{ key: FerryDestHost, value: host }]);
  }

  progressed(progress: MigrationProgress): void {
    this.state.progress = progress;
  }

  /** Runs one step as an instance action event, shown as the current step meanwhile. */
  step<T>(event: string, run: () => Promise<T>): Promise<T> {
    this.state.step = event;
    return asActionEvent(this.migrationUuid, event, run);
  }
}
