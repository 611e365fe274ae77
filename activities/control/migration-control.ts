import type { MigrationControlActivities } from '../../workflows/migration-activities';
import type { OperationPolicy } from '../../workflows/migration-types';
import { claimResources, releaseClaims } from './claims';
import type { Database } from '../../db/database';
import { describeHost } from './describe-host';
import { ActionIds, recordActionEvent } from './instance-actions';
import {
  beginInstanceOperation,
  completeLiveMigration,
  failMigration,
} from './instance-operations';
import { saveMigrationProgress } from './migration-progress';
import { acquireMigrationSlot } from './migration-slots';
import { setMigrationStatus } from './migration-status';
import { selectDestinations } from './scheduler';

/**
 * The control activities of the migration workflows, bound to ferry's database and to the policy
 * of the control worker's configuration.
 */
export function migrationControlActivities(
  db: Database,
  policy: OperationPolicy,
): MigrationControlActivities {
  const actionIds = new ActionIds();
  return {
    beginInstanceOperation: (request) => beginInstanceOperation(db, request),
    setMigrationStatus: (update) => setMigrationStatus(db, update),
    recordActionEvent: (record) => recordActionEvent(db, record, actionIds),
    describeHost: (request) => describeHost(db, request),
    describePolicy: async () => ({ ...policy }),
    saveMigrationProgress: (request) => saveMigrationProgress(db, request),
    selectDestinations: (request) => selectDestinations(db, request),
    claimResources: (request) => claimResources(db, request),
    releaseClaims: (request) => releaseClaims(db, request),
    acquireMigrationSlot: (request) => acquireMigrationSlot(db, request),
    completeLiveMigration: (request) => completeLiveMigration(db, request),
    failMigration: (request) => failMigration(db, request),
  };
}
