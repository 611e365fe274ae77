import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import type { Database } from '../db/database';
import type { Instance, Migration } from '../db/models';
import {
  FerryDestHost,
  FerryInstance,
  FerryOperation,
  FerrySourceHost,
  FerryStatus,
} from '../workflows/search-attributes';
import { CONTROL_TASK_QUEUE } from '../workflows/task-queues';
import { RequestError } from './request-error';

export interface StartedMigration {
  migrationId: number;
  migrationUuid: string;
  workflowId: string;
  instanceUuid: string;
  instanceName: string;
  sourceHost: string;
}

/**
 * Starts an operation's workflow for a Migration just recorded, under the instance's workflow id
 * with conflict policy FAIL and the search attributes the UI filters on. If it cannot start, the
 * Migration row goes again; another operation already running on the instance is a 409.
 */
export async function startInstanceWorkflow(
  db: Database,
  client: Client,
  start: {
    workflowType: 'liveMigration' | 'resize' | 'evacuate';
    input: unknown;
    instance: Instance;
    migration: Migration;
    requestedHost: string | undefined;
  },
): Promise<StartedMigration> {
  const { instance, migration } = start;
  try {
    await client.workflow.start(start.workflowType, {
      taskQueue: CONTROL_TASK_QUEUE,
      workflowId: migration.workflowId,
      args: [start.input],
      workflowIdConflictPolicy: 'FAIL',
      workflowIdReusePolicy: 'ALLOW_DUPLICATE',
      memo: { migrationUuid: migration.uuid },
      typedSearchAttributes: [
        { key: FerryInstance, value: instance.name },
        { key: FerryOperation, value: migration.migrationType },
        { key: FerryStatus, value: migration.status },
        { key: FerrySourceHost, value: instance.hostName },
        ...(start.requestedHost ? [{ key: FerryDestHost, value: start.requestedHost }] : []),
      ],
    });
  } catch (error) {
    // A start that failed on the way back (a timeout, a dropped connection) may have started
    // the workflow all the same: then the Migration row is its record and must stay.
    if (
      !(error instanceof WorkflowExecutionAlreadyStartedError) &&
      (await startedAnyway(client, migration))
    ) {
      return started(instance, migration);
    }
    await db.migration.delete({ where: { id: migration.id } });
    if (error instanceof WorkflowExecutionAlreadyStartedError) {
      throw new RequestError(
        'InstanceInvalidState',
        409,
        `instance ${instance.name} has an operation in progress (workflow ${migration.workflowId})`,
      );
    }
    throw error;
  }
  return started(instance, migration);
}

function started(instance: Instance, migration: Migration): StartedMigration {
  return {
    migrationId: migration.id,
    migrationUuid: migration.uuid,
    workflowId: migration.workflowId,
    instanceUuid: instance.uuid,
    instanceName: instance.name,
    sourceHost: instance.hostName,
  };
}

/** Whether the instance's workflow now running is this migration's (its memo names it). */
async function startedAnyway(client: Client, migration: Migration): Promise<boolean> {
  try {
    const { status, memo } = await client.workflow.getHandle(migration.workflowId).describe();
    return status.name === 'RUNNING' && memo?.migrationUuid === migration.uuid;
  } catch {
    return false;
  }
}
