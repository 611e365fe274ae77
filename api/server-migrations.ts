import { abortUpdate, forceCompleteUpdate } from '../workflows/live-migration-messages';
import { instanceWorkflowId } from '../workflows/operation-types';
import { requireAdmin } from './auth';
import { badRequest, conflict, notFound } from './errors';
import { actionName } from './body';
import { LIVE_IN_PROGRESS, WITH_DEST, serverMigrationView } from './migrations';
import type { ApiDeps, RequestContext, Route } from './router';
import { validate, type Schema } from './schema';
import { findServer } from './servers';
import type { WorkflowUpdates } from './workflow-updates';

const FORCE_COMPLETE: Schema = {
  type: 'object',
  properties: { force_complete: { type: 'null' } },
  required: ['force_complete'],
};

/** Nova's InstanceInvalidState for an instance that is not live-migrating (409). */
function notMigrating(action: string, instance: { uuid: string; taskState: string | null }) {
  return conflict(
    `Cannot '${action}' instance ${instance.uuid} while it is in task_state ${instance.taskState ?? 'None'}`,
  );
}

/** Nova's InvalidMigrationState (400). */
function invalidState(id: number, uuid: string, status: string, action: string) {
  return badRequest(
    `Migration ${id} state of instance ${uuid} is ${status}. Cannot ${action} while the migration is in this state.`,
  );
}

export function serverMigrationRoutes(deps: ApiDeps, updates: WorkflowUpdates): Route[] {
  const { db } = deps;

  /** The migration `mid` of the instance, or null when the id names none of its own. */
  const migrationOf = async (uuid: string, mid: string) => {
    if (!/^\d+$/.test(mid) || !Number.isSafeInteger(Number(mid))) return null;
    return db.migration.findFirst({
      where: { id: Number(mid), instanceUuid: uuid },
      include: WITH_DEST,
    });
  };
  const noSuchMigration = (mid: string, uuid: string) =>
    `Migration ${mid} not found for instance ${uuid}.`;

  const show = async (context: RequestContext) => {
    requireAdmin(context.caller, 'os_compute_api:servers:migrations:show');
    const { uuid } = await findServer(db, context.params.id);
    const { mid } = context.params;
    const row = await migrationOf(uuid, mid);
    if (!row) throw notFound(`In-progress live migration ${mid} is not found for server ${uuid}.`);
    if (row.migrationType !== 'live-migration') {
      throw notFound(`Migration ${mid} for server ${uuid} is not live-migration.`);
    }
    if (!LIVE_IN_PROGRESS.includes(row.status)) {
      throw notFound(`Live migration ${mid} for server ${uuid} is not in progress.`);
    }
    return { status: 200, body: { migration: serverMigrationView(context, row) } };
  };

  return [
    {
      method: 'GET',
      path: '/servers/:id/migrations',
      since: '2.23',
      handle: async (context) => {
        requireAdmin(context.caller, 'os_compute_api:servers:migrations:index');
        const { uuid } = await findServer(db, context.params.id);
        const rows = await db.migration.findMany({
          where: {
            instanceUuid: uuid,
            migrationType: 'live-migration',
            status: { in: LIVE_IN_PROGRESS },
          },
          include: WITH_DEST,
          orderBy: { id: 'asc' },
        });
        return {
          status: 200,
          body: { migrations: rows.map((row) => serverMigrationView(context, row)) },
        };
      },
    },
    { method: 'GET', path: '/servers/:id/migrations/:mid', since: '2.23', handle: show },
    {
      method: 'DELETE',
      path: '/servers/:id/migrations/:mid',
      since: '2.24',
      handle: async (context) => {
        requireAdmin(context.caller, 'os_compute_api:servers:migrations:delete');
        const instance = await findServer(db, context.params.id);
        if (instance.taskState !== 'migrating')
          throw notMigrating('abort live migration', instance);
        const { mid } = context.params;
        const row = await migrationOf(instance.uuid, mid);
        if (!row) throw notFound(noSuchMigration(mid, instance.uuid));
        const queued = ['queued', 'preparing'].includes(row.status);
        if (queued && !context.version.atLeast('2.65')) {
          throw conflict(
            `Aborting live migration ${row.id} with status ${row.status} requires a microversion of 2.65 or later.`,
          );
        }
        if (row.migrationType !== 'live-migration' || !(queued || row.status === 'running')) {
          throw invalidState(row.id, instance.uuid, row.status, 'abort live migration');
        }
        await updates.send(instanceWorkflowId(instance.uuid), abortUpdate, (reason) =>
          invalidState(row.id, instance.uuid, row.status, `abort live migration (${reason})`),
        );
        return { status: 202 };
      },
    },
    {
      method: 'POST',
      path: '/servers/:id/migrations/:mid/action',
      since: '2.22',
      handle: async (context) => {
        const body = await context.body();
        const action = actionName(body);
        if (action !== 'force_complete') throw badRequest(`There is no such action: ${action}`);
        requireAdmin(context.caller, 'os_compute_api:servers:migrations:force_complete');
        validate(FORCE_COMPLETE, body);
        const instance = await findServer(db, context.params.id);
        if (instance.taskState !== 'migrating') throw notMigrating('force_complete', instance);
        const { mid } = context.params;
        const row = await migrationOf(instance.uuid, mid);
        if (!row) throw badRequest(noSuchMigration(mid, instance.uuid));
        if (row.migrationType !== 'live-migration' || row.status !== 'running') {
          throw invalidState(row.id, instance.uuid, row.status, 'force complete');
        }
        await updates.send(instanceWorkflowId(instance.uuid), forceCompleteUpdate, (reason) =>
          invalidState(row.id, instance.uuid, row.status, `force complete (${reason})`),
        );
        return { status: 202 };
      },
    },
  ];
}
