/** The record of a live migration: the operation's, with its block migration and job progress. */
import { control } from './activity-proxies';
import type {
  LiveMigrationInput,
  LiveMigrationState,
  LiveMigrationStatus,
  MigrationProgress,
} from './live-migration-contract';
import { OperationRecord } from './operation-record';

export class LiveMigrationRecord extends OperationRecord<LiveMigrationState> {
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
  }
}
