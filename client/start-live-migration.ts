import type { Client } from '@temporalio/client';
import type { Database } from '../db/database';
import { instanceWorkflowId } from '../workflows/operation-types';
import { liveMigrationRefusal, recordMigration } from '../db/record-migration';
import type { BlockMigration, LiveMigrationInput } from '../workflows/live-migration-contract';
import { findInstance } from './find-instance';
import { RequestError } from './request-error';
import { startInstanceWorkflow, type StartedMigration } from './start-instance-workflow';

export interface LiveMigrationRequest {
  /** The instance's name or UUID. */
  instance: string;
  /** The destination, or undefined for the scheduler's choice. */
  host?: string;
  blockMigration: BlockMigration;
  /** Who asks, for the instance action (`cli`, or the API token's role). */
  requestedBy: string;
}

/**
 * Validates a live-migration request, records its Migration (status accepted) and starts the
 * liveMigration workflow under the instance's workflow id. A second operation on the instance is
 * refused here, or by Temporal's conflict policy when two requests race; either way nothing of
 * the refused request is left behind.
 */
export async function startLiveMigration(
  db: Database,
  client: Client,
  request: LiveMigrationRequest,
): Promise<StartedMigration> {
  const instance = await findInstance(db, request.instance);
  const name = instance.name;
  const refusal = liveMigrationRefusal(instance);
  if (refusal) throw new RequestError(refusal.type, 409, refusal.message);
  if (request.host !== undefined) {
    const host = await db.host.findUnique({ where: { name: request.host } });
    if (!host) {
      throw new RequestError(
        'ComputeHostNotFound',
        400,
        `compute host ${request.host} could not be found`,
      );
    }
    if (host.name === instance.hostName) {
      throw new RequestError(
        'UnableToMigrateToSelf',
        400,
        `unable to migrate instance ${name} to its own host ${host.name}`,
      );
    }
  }

  const migration = await recordMigration(db, {
    instance,
    migrationType: 'live-migration',
    workflowId: instanceWorkflowId(instance.uuid),
  });
  const input: LiveMigrationInput = {
    migrationUuid: migration.uuid,
    instanceUuid: instance.uuid,
    instanceName: name,
    sourceHost: instance.hostName,
    requestedHost: request.host ?? null,
    blockMigration: request.blockMigration,
    requestedBy: request.requestedBy,
  };
  return startInstanceWorkflow(db, client, {
    workflowType: 'liveMigration',
    input,
    instance,
    migration,
    requestedHost: request.host,
  });
}
