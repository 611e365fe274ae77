import type { Client } from '@temporalio/client';
import type { Database } from '../db/database';
import type { Flavor } from '../db/models';
import type { FerryConfig } from '../config';
import { instanceWorkflowId } from '../workflows/operation-types';
import { recordMigration, resizeRefusal } from '../db/record-migration';
import type { ResizeInput } from '../workflows/resize-contract';
import { findInstance } from './find-instance';
import { RequestError } from './request-error';
import { startInstanceWorkflow, type StartedMigration } from './start-instance-workflow';

export interface ResizeRequest {
  instance: string;
  /** The new flavor's id or name; undefined for a cold migration (same flavor). */
  flavor?: string;
  /** Cold migration only: the destination, or undefined for the scheduler's choice. */
  host?: string;
  requestedBy: string;
}

/** The requesting process's settings a resize takes; its policy is the control plane's. */
type ResizeConfig = Pick<FerryConfig, 'allowResizeToSameHost' | 'shutdownTimeoutSeconds'>;

async function findFlavor(db: Database, idOrName: string): Promise<Flavor> {
  const flavor = await db.flavor.findFirst({
    where: { OR: [{ id: idOrName }, { name: idOrName }] },
  });
  if (!flavor)
    throw new RequestError('FlavorNotFound', 400, `flavor ${idOrName} could not be found`);
  if (flavor.disabled)
    throw new RequestError('FlavorDisabled', 400, `flavor ${flavor.name} is disabled`);
  return flavor;
}

const size = (flavor: Flavor) => ({
  vcpus: flavor.vcpus,
  memoryMiB: flavor.memoryMiB,
  rootDiskGiB: flavor.rootDiskGiB,
});

/**
 * Validates a resize or cold migration, records its Migration (status pre-migrating) and starts
 * the resize workflow under the instance's workflow id (conflict policy FAIL). Refused requests
 * leave nothing behind.
 */
export async function startResize(
  db: Database,
  client: Client,
  config: ResizeConfig,
  request: ResizeRequest,
): Promise<StartedMigration> {
  const instance = await findInstance(db, request.instance);
  const name = instance.name;
  const oldFlavor = await db.flavor.findUniqueOrThrow({ where: { id: instance.flavorId } });
  const newFlavor = request.flavor === undefined ? oldFlavor : await findFlavor(db, request.flavor);
  const migrationType = request.flavor === undefined ? 'migration' : 'resize';
  if (migrationType === 'resize' && newFlavor.id === oldFlavor.id) {
    throw new RequestError(
      'CannotResizeToSameFlavor',
      400,
      `instance ${name} already has flavor ${oldFlavor.name}: a resize needs another flavor`,
    );
  }
  if (newFlavor.rootDiskGiB < oldFlavor.rootDiskGiB) {
    throw new RequestError(
      'CannotResizeDisk',
      400,
      `flavor ${newFlavor.name} has a ${newFlavor.rootDiskGiB} GiB root disk, smaller than the ${oldFlavor.rootDiskGiB} GiB of ${oldFlavor.name}: disks cannot shrink`,
    );
  }
  const refusal = resizeRefusal(instance, migrationType);
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
    if (host.name === instance.hostName && !config.allowResizeToSameHost) {
      throw new RequestError(
        'UnableToMigrateToSelf',
        400,
        `unable to migrate instance ${name} to its own host ${host.name} (allow_resize_to_same_host is off)`,
      );
    }
  }

  const migration = await recordMigration(db, {
    instance,
    migrationType,
    newFlavorId: newFlavor.id,
    workflowId: instanceWorkflowId(instance.uuid),
  });
  const input: ResizeInput = {
    migrationUuid: migration.uuid,
    instanceUuid: instance.uuid,
    instanceName: name,
    migrationType,
    sourceHost: instance.hostName,
    requestedHost: request.host ?? null,
    oldFlavorId: oldFlavor.id,
    newFlavorId: newFlavor.id,
    oldSize: size(oldFlavor),
    newSize: size(newFlavor),
    allowSameHost: config.allowResizeToSameHost,
    shutdownTimeoutSeconds: config.shutdownTimeoutSeconds,
    requestedBy: request.requestedBy,
  };
  return startInstanceWorkflow(db, client, {
    workflowType: 'resize',
    input,
    instance,
    migration,
    requestedHost: request.host,
  });
}
