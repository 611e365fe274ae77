import { WorkflowNotFoundError, WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import type { Database } from '../db/database';
import { abortUpdate, forceCompleteUpdate } from '../workflows/live-migration-messages';
import { instanceWorkflowId } from '../workflows/operation-types';
import type { LiveMigrationState } from '../workflows/live-migration-contract';
import { findInstance } from './find-instance';
import { RequestError } from './request-error';

type MigrationUpdate = typeof abortUpdate | typeof forceCompleteUpdate;

/**
 * Sends an Update to the migration running on an instance. The workflow's validator answers at
 * once: a migration in the wrong state is refused with 409 and the reason, and nothing changes.
 */
async function updateRunningMigration(
  db: Database,
  client: Client,
  nameOrUuid: string,
  update: MigrationUpdate,
): Promise<LiveMigrationState> {
  const instance = await findInstance(db, nameOrUuid);
  const handle = client.workflow.getHandle(instanceWorkflowId(instance.uuid));
  const noMigration = () =>
    new RequestError(
      'InstanceInvalidState',
      409,
      `instance ${instance.name} has no live migration in progress`,
    );
  try {
    const { status } = await handle.describe();
    if (status.name !== 'RUNNING') throw noMigration();
    return await handle.executeUpdate(update);
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) throw noMigration();
    if (error instanceof WorkflowUpdateFailedError) {
      throw new RequestError('InstanceInvalidState', 409, error.cause?.message ?? error.message);
    }
    throw error;
  }
}

export function abortMigration(db: Database, client: Client, instance: string) {
  return updateRunningMigration(db, client, instance, abortUpdate);
}

export function forceCompleteMigration(db: Database, client: Client, instance: string) {
  return updateRunningMigration(db, client, instance, forceCompleteUpdate);
}
