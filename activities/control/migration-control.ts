import type { LiveMigrationControlActivities } from '../../workflows/live-migration-contract';
import type { OperationControlActivities } from '../../workflows/operation-types';
import { claimResources, releaseClaims } from './claims';
import type { Database } from '../../db/database';
import { describeHost } from './describe-host';
import { ActionIds, recordActionEvent } from './instance-actions';
import {
  beginInstanceOperation,
  completeLiveMigration,
  failMigration,
} from './instance-operations';
import { acquireMigrationSlot, type SlotSettings } from './migration-slots';
import { setMigrationStatus } from './migration-status';
import { selectDestinations } from './scheduler';

/** The control activities both operations call, and the live migration's own, bound to ferry's database. */
export function migrationControlActivities(
  db: Database,
  settings: SlotSettings,
): OperationControlActivities & LiveMigrationControlActivities {
  const actionIds = new ActionIds();
  return {
    beginInstanceOperation: (request) => beginInstanceOperation(db, request),
    setMigrationStatus: (update) => setMigrationStatus(db, update),
    recordActionEvent: (record) => recordActionEvent(db, record, actionIds),
    describeHost: (request) => describeHost(db, request),
    selectDestinations: (request) => selectDestinations(db, request),
    claimResources: (request) => claimResources(db, request),
    releaseClaims: (request) => releaseClaims(db, request),
    acquireMigrationSlot: (request) => acquireMigrationSlot(db, settings, request),
    completeLiveMigration: (request) => completeLiveMigration(db, request),
    failMigration: (request) => failMigration(db, request),
  };
}
