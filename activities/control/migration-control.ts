import type { LiveMigrationControlActivities } from '../../workflows/live-migration-contract';
import type { OperationControlActivities } from '../../workflows/operation-types';
import { claimResources, releaseClaims } from './claims';
import type { Database } from '../../db/database';
import { describeHost } from './describe-host';
import { ActionIds, recordActionEvent, recordActionEvents } from './instance-actions';
import {
  beginInstanceOperation,
  completeLiveMigration,
  failMigration,
} from './instance-operations';
import { saveMigrationProgress } from './migration-progress';
import { acquireMigrationSlot, type SlotSettings } from './migration-slots';
import { setMigrationStatus } from './migration-status';
import { operationPolicy, type ControlPolicyConfig } from './policy';
import { selectDestinations } from './scheduler';
import { beginLiveMigration, queueMigration, startLiveMigration } from './live-migration-steps';

/**
 * The control activities both operations call, and the live migration's own, bound to ferry's
 * database and to the control worker's own settings (the policy, the migration slots' limits).
 */
export function migrationControlActivities(
  db: Database,
  settings: SlotSettings & ControlPolicyConfig,
): OperationControlActivities & LiveMigrationControlActivities {
  const actionIds = new ActionIds();
  return {
    beginInstanceOperation: (request) => beginInstanceOperation(db, request, actionIds),
    setMigrationStatus: (update) => setMigrationStatus(db, update, actionIds),
    recordActionEvent: (record) => recordActionEvent(db, record, actionIds),
    recordActionEvents: (records) => recordActionEvents(db, records, actionIds),
    describeHost: (request) => describeHost(db, request),
    describePolicy: async () => operationPolicy(settings),
    saveMigrationProgress: (request) => saveMigrationProgress(db, request),
    selectDestinations: (request) => selectDestinations(db, request, actionIds),
    claimResources: (request) => claimResources(db, request, actionIds),
    releaseClaims: (request) => releaseClaims(db, request),
    acquireMigrationSlot: (request) => acquireMigrationSlot(db, settings, request, actionIds),
    beginLiveMigration: (request) => beginLiveMigration(db, settings, request, actionIds),
    queueMigration: (request) => queueMigration(db, settings, request, actionIds),
    startLiveMigration: (request) => startLiveMigration(db, request, actionIds),
    completeLiveMigration: (request) => completeLiveMigration(db, request, actionIds),
    failMigration: (request) => failMigration(db, request),
  };
}
