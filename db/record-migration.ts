/**
 * What a single request (client/) and a drain's move (activities/control/drain-control.ts) share before a live or
 * cold migration's workflow starts: whether the instance can take the operation now, and the
 * Migration row that records it.
 */
import { randomUUID } from 'node:crypto';
import type { Instance, Migration } from './models';
import type { DatabaseClient } from './transactions';

/** Why the instance cannot take the operation now, in Nova's terms. */
export interface MigrationRefusal {
  type: 'InstanceInvalidState' | 'InstanceLocked';
  message: string;
}

function busy(instance: Instance): MigrationRefusal | null {
  if (instance.taskState === null) return null;
  return {
    type: 'InstanceInvalidState',
    message: `instance ${instance.name} is in task_state ${instance.taskState}: another operation is in progress`,
  };
}

function locked(instance: Instance): MigrationRefusal | null {
  return instance.locked
    ? { type: 'InstanceLocked', message: `instance ${instance.name} is locked` }
    : null;
}

/** A live migration needs an active, running instance, unlocked, with no operation in progress. */
export function liveMigrationRefusal(instance: Instance): MigrationRefusal | null {
  if (instance.vmState !== 'active' || instance.powerState !== 'running') {
    return (
      busy(instance) ?? {
        type: 'InstanceInvalidState',
        message: `instance ${instance.name} is ${instance.vmState}/${instance.powerState}: live migration needs an active, running instance`,
      }
    );
  }
  return busy(instance) ?? locked(instance);
}

/** A cold migration or resize needs an active instance (running or stopped), unlocked and idle. */
export function resizeRefusal(
  instance: Instance,
  migrationType: 'migration' | 'resize',
): MigrationRefusal | null {
  if (instance.vmState !== 'active' || !['running', 'shutdown'].includes(instance.powerState)) {
    return (
      busy(instance) ?? {
        type: 'InstanceInvalidState',
        message: `instance ${instance.name} is ${instance.vmState}/${instance.powerState}: ${migrationType} needs an active instance, running or stopped`,
      }
    );
  }
  return busy(instance) ?? locked(instance);
}

/** Records the Migration of an operation about to start under `workflowId` (the instance's). */
export function recordMigration(
  db: DatabaseClient,
  request: {
    instance: Instance;
    migrationType: 'live-migration' | 'migration' | 'resize' | 'evacuation';
    newFlavorId?: string;
    workflowId: string;
  },
): Promise<Migration> {
  const { instance } = request;
  return db.migration.create({
    data: {
      uuid: randomUUID(),
      instanceUuid: instance.uuid,
      migrationType: request.migrationType,
      status: ['live-migration', 'evacuation'].includes(request.migrationType)
        ? 'accepted'
        : 'pre-migrating',
      sourceHost: instance.hostName,
      oldFlavorId: instance.flavorId,
      newFlavorId: request.newFlavorId ?? instance.flavorId,
      workflowId: request.workflowId,
    },
  });
}
