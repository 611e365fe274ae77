/**
 * Resource claims: what a migration holds on its destination, as ResourceClaim rows counted in the
 * host's usage, so two migrations can never both take the last free capacity of a host.
 */
import type { Database } from '../../db/database';
import { migrationFailure } from './migration-errors';
import { getMigrationToPlace } from './migration-lookup';
import { lackingResource } from './scheduler';
import { readHostCapacity } from './placement';
import { inTransaction, lockHost } from '../../db/transactions';
import { type ActionIds, recordActionEvents } from './instance-actions';
import type { ActionEventRecord } from '../../workflows/operation-types';

/**
 * Claims the vCPUs, memory and disk of the migration's new flavor on `host`. Under the Host row's
 * lock, the host's free capacity (without this migration's own claim, and without the instance's
 * own flavor, which a claim on its own host replaces rather than adds to) must hold them; a second
 * call for the same migration and host finds its claim and does nothing. Fails with
 * MigrationPreCheckError when the host is not registered or lacks a resource. Once the claim is
 * held, `events` (the check's start) are recorded, as recordActionEvents does.
 */
export async function claimResources(
  db: Database,
  request: { migrationUuid: string; host: string; events?: ActionEventRecord[] },
  actionIds?: ActionIds,
): Promise<void> {
  await claim(db, request);
  if (request.events) await recordActionEvents(db, request.events, actionIds);
}

function notRegistered(host: string): never {
  throw migrationFailure('MigrationPreCheckError', `host ${host} is not registered`);
}

async function claim(
  db: Database,
  request: { migrationUuid: string; host: string },
): Promise<void> {
  const migration = await getMigrationToPlace(db, request.migrationUuid);
  await inTransaction(db, async (tx) => {
    if (!(await lockHost(tx, request.host))) notRegistered(request.host);
    const claimed = await tx.resourceClaim.findUnique({
      where: { migrationId_hostName: { migrationId: migration.id, hostName: request.host } },
    });
    if (claimed) return;
    const host = await readHostCapacity(tx, request.host, {
      excludeMigrationId: migration.id,
      excludeInstanceUuid: migration.instanceUuid,
    });
    const refusal = lackingResource(host ?? notRegistered(request.host), migration.needs);
    if (refusal) {
      throw migrationFailure(
        'MigrationPreCheckError',
        `host ${request.host} cannot hold instance ${migration.instanceName}: ${refusal.reason}`,
      );
    }
    await tx.resourceClaim.create({
      data: {
        hostName: request.host,
        instanceUuid: migration.instanceUuid,
        migrationId: migration.id,
        ...migration.needs,
      },
    });
  });
}

/** Deletes the migration's claims (on `host` only, when given). Idempotent. */
export async function releaseClaims(
  db: Database,
  request: { migrationUuid: string; host?: string },
): Promise<void> {
  await db.resourceClaim.deleteMany({
    where: {
      migration: { uuid: request.migrationUuid },
      ...(request.host === undefined ? {} : { hostName: request.host }),
    },
  });
}
