/** The control activities of a host drain (docs/drain.md): the Drain row, its plan and its moves. */
import { ApplicationFailure } from '@temporalio/common';
import type { FerryConfig } from '../../config';
import type { Database } from '../../db/database';
import type { DrainItem as DrainItemRow, Instance, Migration } from '../../db/models';
import { recordMigration } from '../../db/record-migration';
import { inTransaction, type DatabaseClient } from '../../db/transactions';
import type {
  DrainControlActivities,
  DrainItem,
  DrainItemState,
  DrainMove,
} from '../../workflows/drain-contract';
import { instanceWorkflowId } from '../../workflows/operation-types';
import { planDrain, planDrainDryRun, planInstance } from './drain-plan';

export type DrainConfig = Pick<
  FerryConfig,
  'maxConcurrentLiveMigrations' | 'schedulerMaxAttempts' | 'shutdownTimeoutSeconds'
>;

/** An item as recorded; a return's moves go back to the drain's host. */
function fromRow(row: DrainItemRow, returnTo: string | null): DrainItem {
  return {
    instanceUuid: row.instanceUuid,
    instanceName: row.instanceName,
    action: row.action as DrainItem['action'],
    state: row.state as DrainItemState,
    reason: row.reason,
    attempts: row.attempts,
    destHost: row.destHost,
    requestedHost: row.action === 'none' ? null : returnTo,
    lastMigrationUuid: row.lastMigrationUuid,
  };
}

/**
 * The instances the host's last drain moved that are still where it put them, each planned back
 * to the host (live if running, cold if stopped, left with the reason otherwise).
 */
async function planReturn(db: DatabaseClient, host: string): Promise<DrainItem[]> {
  const drain = await db.drain.findFirst({
    where: { host, kind: 'drain', status: { not: 'running' } },
    orderBy: { id: 'desc' },
    include: { items: { where: { state: 'moved' }, orderBy: { instanceName: 'asc' } } },
  });
  if (!drain) return [];
  const instances = await db.instance.findMany({
    where: { uuid: { in: drain.items.map((row) => row.instanceUuid) } },
  });
  return drain.items.flatMap((row) => {
    const instance = instances.find((candidate) => candidate.uuid === row.instanceUuid);
    if (!instance || instance.hostName !== row.destHost) return [];
    return [{ ...planInstance(instance, false), requestedHost: host }];
  });
}

/**
 * The Migration of an item's `attempt`th move, recorded with the item in one transaction. A retry
 * of the activity (its workflow task lost before the child started) finds that Migration, still
 * accepted, and returns it instead of recording another.
 */
async function recordDrainMove(
  db: Database,
  drainId: number,
  instance: Instance,
  request: { instanceUuid: string; attempt: number; action: 'live' | 'cold' },
): Promise<Migration> {
  const key = { drainId_instanceUuid: { drainId, instanceUuid: request.instanceUuid } };
  const item = await db.drainItem.findUniqueOrThrow({ where: key });
  if (item.attempts === request.attempt && item.lastMigrationUuid !== null) {
    const recorded = await db.migration.findUnique({ where: { uuid: item.lastMigrationUuid } });
    if (recorded && ['accepted', 'pre-migrating'].includes(recorded.status)) return recorded;
  }
  return inTransaction(db, async (tx) => {
    const migration = await recordMigration(tx, {
      instance,
      migrationType: request.action === 'live' ? 'live-migration' : 'migration',
      workflowId: instanceWorkflowId(instance.uuid),
    });
    await tx.drainItem.update({
      where: key,
      data: { attempts: request.attempt, lastMigrationUuid: migration.uuid, state: 'moving' },
    });
    return migration;
  });
}

export function drainControlActivities(db: Database, config: DrainConfig) {
  const activities: DrainControlActivities = {
    planHostDrain: (request) => planDrainDryRun(db, request),

    async beginDrain(request) {
      const concurrency = request.concurrency ?? config.maxConcurrentLiveMigrations;
      return inTransaction(db, async (tx) => {
        const host = await tx.host.findUnique({ where: { name: request.host } });
        if (!host) {
          throw ApplicationFailure.nonRetryable(
            `host ${request.host} is not registered`,
            'HostNotFound',
          );
        }
        const recorded = await tx.drain.findUnique({
          where: { uuid: request.drainUuid },
          include: { items: { orderBy: { instanceName: 'asc' } } },
        });
        if (recorded && recorded.items.length > 0) {
          const returnTo = recorded.kind === 'return' ? recorded.host : null;
          return {
            concurrency: recorded.concurrency,
            items: recorded.items.map((row) => fromRow(row, returnTo)),
          };
        }
        if (request.kind === 'drain') {
          await tx.host.update({
            where: { name: host.name },
            data: { state: 'disabled', disabledReason: 'draining' },
          });
        } else if (host.state === 'disabled') {
          await tx.host.update({
            where: { name: host.name },
            data: { state: 'up', disabledReason: null },
          });
        }
        const items =
          request.kind === 'drain'
            ? await planDrain(tx, request)
            : await planReturn(tx, request.host);
        const create = items.map((planned) => ({
          instanceUuid: planned.instanceUuid,
          instanceName: planned.instanceName,
          action: planned.action,
          state: planned.state,
          reason: planned.reason,
        }));
        // The request layer records the row before it starts the workflow; a drain started
        // another way (a test, a script) gets it here.
        await tx.drain.upsert({
          where: { uuid: request.drainUuid },
          update: { concurrency, items: { create } },
          create: {
            uuid: request.drainUuid,
            host: host.name,
            status: 'running',
            kind: request.kind,
            concurrency,
            attempts: request.attempts,
            deadline: request.deadline === null ? null : new Date(request.deadline),
            exclude: JSON.stringify(request.exclude),
            workflowId: request.workflowId,
            requestedBy: request.requestedBy,
            items: { create },
          },
        });
        return { concurrency, items };
      });
    },

    async startDrainMove(request): Promise<DrainMove> {
      const instance = await db.instance.findUnique({
        where: { uuid: request.instanceUuid },
        include: { flavor: true },
      });
      if (!instance) return { refused: 'the instance no longer exists' };
      const drain = await db.drain.findUniqueOrThrow({ where: { uuid: request.drainUuid } });
      const planned = planInstance(instance, false);
      if (planned.action !== request.action) {
        return { refused: planned.reason ?? `the instance is now planned ${planned.action}` };
      }
      const expected = drain.kind === 'drain' ? drain.host : null;
      if (expected !== null && instance.hostName !== expected) {
        return { refused: `the instance is on ${instance.hostName} now, not ${expected}` };
      }
      const requestedBy = `drain ${request.drainUuid}${drain.requestedBy ? ` (${drain.requestedBy})` : ''}`;
      const migration = await recordDrainMove(db, drain.id, instance, request);
      if (request.action === 'live') {
        return {
          workflowType: 'liveMigration',
          migrationUuid: migration.uuid,
          input: {
            migrationUuid: migration.uuid,
            instanceUuid: instance.uuid,
            instanceName: instance.name,
            sourceHost: instance.hostName,
            requestedHost: request.requestedHost,
            blockMigration: 'auto',
            maxConcurrentPerSource: Math.max(drain.concurrency, config.maxConcurrentLiveMigrations),
            schedulerMaxAttempts: config.schedulerMaxAttempts,
            requestedBy,
          },
        };
      }
      const size = {
        vcpus: instance.flavor.vcpus,
        memoryMiB: instance.flavor.memoryMiB,
        rootDiskGiB: instance.flavor.rootDiskGiB,
      };
      return {
        workflowType: 'resize',
        migrationUuid: migration.uuid,
        input: {
          migrationUuid: migration.uuid,
          instanceUuid: instance.uuid,
          instanceName: instance.name,
          migrationType: 'migration',
          sourceHost: instance.hostName,
          requestedHost: request.requestedHost,
          oldFlavorId: instance.flavorId,
          newFlavorId: instance.flavorId,
          oldSize: size,
          newSize: size,
          allowSameHost: false,
          confirmWindowSeconds: 0,
          confirmAtOnce: true,
          shutdownTimeoutSeconds: config.shutdownTimeoutSeconds,
          schedulerMaxAttempts: config.schedulerMaxAttempts,
          requestedBy,
        },
      };
    },

    async discardDrainMove({ migrationUuid }) {
      await db.migration.deleteMany({
        where: { uuid: migrationUuid, status: { in: ['accepted', 'pre-migrating'] } },
      });
    },

    async recordDrainItems({ drainUuid, items }) {
      const drain = await db.drain.findUniqueOrThrow({ where: { uuid: drainUuid } });
      await inTransaction(db, async (tx) => {
        for (const item of items) {
          await tx.drainItem.update({
            where: { drainId_instanceUuid: { drainId: drain.id, instanceUuid: item.instanceUuid } },
            data: {
              state: item.state,
              reason: item.reason,
              attempts: item.attempts,
              destHost: item.destHost,
              lastMigrationUuid: item.lastMigrationUuid,
            },
          });
        }
      });
    },

    async finishDrain({ drainUuid, status }) {
      const drain = await db.drain.update({
        where: { uuid: drainUuid },
        data: { status, finishedAt: new Date() },
      });
      if (drain.kind !== 'return') return;
      const returned = await db.drain.findFirst({
        where: {
          host: drain.host,
          kind: 'drain',
          id: { lt: drain.id },
          status: { not: 'running' },
        },
        orderBy: { id: 'desc' },
      });
      if (returned) {
        await db.drain.update({ where: { id: returned.id }, data: { returnedAt: new Date() } });
      }
    },
  };
  return activities;
}
