/** A host agent's live-migration activities (the LiveMigrationHostActivities contract). */
import type { LiveMigrationHostActivities } from '../../../workflows/live-migration-contract';
import type { HostAgentContext } from '../index';
import { checkDestination } from './destination-check';
import {
  abortLiveMigration,
  forceCompleteLiveMigration,
  locateInstance,
  resumeInstance,
} from './instance-control';
import { liveMigrate } from './migrate';
import { prepareDestination } from './prepare';
import { cleanupSource, rollbackAtDestination } from './rollback';
import { checkSource } from './source-check';
import { hasStorageProbe, removeStorageProbe } from './storage-probe';

export function createLiveMigrationActivities(
  context: HostAgentContext,
): LiveMigrationHostActivities {
  return {
    checkCanLiveMigrateSource: (request) => checkSource(context, request),
    checkCanLiveMigrateDestination: (request) => checkDestination(context, request),
    hasStorageProbe: ({ storageProbe }) => hasStorageProbe(context.instancesDir, storageProbe),
    removeStorageProbe: ({ storageProbe }) =>
      removeStorageProbe(context.instancesDir, storageProbe),
    prepareLiveMigrationDestination: (request) => prepareDestination(context, request),
    liveMigrate: (request) => liveMigrate(context, request),
    forceCompleteLiveMigration: (request) => forceCompleteLiveMigration(context, request),
    locateInstance: (request) => locateInstance(context, request),
    abortLiveMigration: (request) => abortLiveMigration(context, request),
    resumeInstance: (request) => resumeInstance(context, request),
    rollbackLiveMigrationAtDestination: (request) => rollbackAtDestination(context, request),
    cleanupLiveMigrationSource: (request) => cleanupSource(context, request),
  };
}
