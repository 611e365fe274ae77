import type { Instance } from '../db/models';
import { serviceState } from '../db/host-liveness';
import { startLiveMigration } from '../client/start-live-migration';
import { startEvacuation } from '../client/start-evacuation';
import { startResize } from '../client/start-resize';
import { instanceWorkflowId } from '../workflows/operation-types';
import { confirmUpdate, revertUpdate } from '../workflows/resize-messages';
import { requireAdmin } from './auth';
import { actionName } from './body';
import { asApiError, badRequest, conflict } from './errors';
import type { Microversion } from './microversion';
import type { ApiDeps, Reply, RequestContext, Route } from './router';
import { BOOLEAN_VALUES, HOST_NAME, asBoolean, validate, type Schema } from './schema';
import { findServer } from './servers';
import type { WorkflowUpdates } from './workflow-updates';

type Body = Record<string, Record<string, unknown> | null>;

interface ServerAction {
  /** Nova's policy rule of an admin-only action (named in the 403), null for member actions. */
  adminPolicy: string | null;
  /** The body's schema at a microversion; null where Nova checks none. */
  schema(version: Microversion): Schema | null;
  run(context: RequestContext, body: Body, instance: Instance): Promise<Reply>;
}

const boolean = (also: unknown[] = []): Schema => ({
  enum: [...BOOLEAN_VALUES, ...also],
  describe:
    also.length === 0
      ? 'a boolean'
      : `a boolean or ${also.map((v) => JSON.stringify(v)).join(', ')}`,
});

/** os-migrateLive's body by microversion (nova/api/openstack/compute/schemas/migrate_server.py). */
function liveMigrateSchema(version: Microversion): Schema {
  const properties: Record<string, Schema> = version.atLeast('2.25')
    ? { block_migration: boolean(['auto']), host: HOST_NAME }
    : { block_migration: boolean(), disk_over_commit: boolean(), host: HOST_NAME };
  if (version.atLeast('2.30') && !version.atLeast('2.68')) properties.force = boolean();
  return {
    type: 'object',
    properties: {
      'os-migrateLive': {
        type: 'object',
        properties,
        required: Object.keys(properties).filter((key) => key !== 'force'),
      },
    },
    required: ['os-migrateLive'],
  };
}

/**
 * evacuate's body by microversion (nova/api/openstack/compute/schemas/evacuate.py): host
 * optional; onSharedStorage required before 2.14 and gone since; force from 2.29 to 2.67.
 */
function evacuateSchema(version: Microversion): Schema {
  const properties: Record<string, Schema> = {
    host: HOST_NAME,
    adminPass: { type: 'string', nullable: true },
  };
  if (!version.atLeast('2.14')) properties.onSharedStorage = boolean();
  if (version.atLeast('2.29') && !version.atLeast('2.68')) properties.force = boolean();
  return {
    type: 'object',
    properties: {
      evacuate: {
        type: 'object',
        properties,
        required: version.atLeast('2.14') ? [] : ['onSharedStorage'],
      },
    },
    required: ['evacuate'],
  };
}

const nullAction = (name: string): Schema => ({
  type: 'object',
  properties: { [name]: { type: 'null' } },
  required: [name],
});

/** Nova's get_id_from_href: a flavorRef may be the flavor's URL. */
const flavorId = (ref: unknown) => String(ref).split('/').pop() as string;

export function serverActionRoutes(deps: ApiDeps, updates: WorkflowUpdates): Route[] {
  const { db, client, config } = deps;

  /**
   * A destination the caller named must be up and enabled: Nova's ComputeServiceUnavailable
   * (400). Unknown hosts and the instance's own host are the start helpers' to refuse.
   */
  const checkDestination = async (instance: Instance, host: string | undefined) => {
    if (host === undefined || host === instance.hostName) return;
    const row = await db.host.findUnique({ where: { name: host } });
    if (row && serviceState(row) !== 'up') {
      const why =
        row.state === 'disabled'
          ? `disabled${row.disabledReason ? `: ${row.disabledReason}` : ''}`
          : row.forcedDown
            ? 'forced down'
            : row.state;
      throw badRequest(`Compute service of ${host} is unavailable at this time (${why}).`);
    }
  };

  /** Confirm or revert a resize waiting in VERIFY_RESIZE, through the workflow's Update. */
  const decide = async (instance: Instance, action: 'confirmResize' | 'revertResize') => {
    if (instance.vmState !== 'resized' || instance.taskState !== null) {
      const state =
        instance.vmState !== 'resized'
          ? `vm_state ${instance.vmState}`
          : `task_state ${instance.taskState}`;
      throw conflict(`Cannot '${action}' instance ${instance.uuid} while it is in ${state}`);
    }
    const finished = await db.migration.findFirst({
      where: { instanceUuid: instance.uuid, status: 'finished' },
    });
    if (!finished) throw badRequest('Instance has not been resized.');
    await updates.send(
      instanceWorkflowId(instance.uuid),
      action === 'confirmResize' ? confirmUpdate : revertUpdate,
      (reason) => conflict(`Cannot '${action}' instance ${instance.uuid}: ${reason}`),
    );
    return { status: action === 'confirmResize' ? 204 : 202 };
  };

  const actions: Record<string, ServerAction> = {
    'os-migrateLive': {
      adminPolicy: 'os_compute_api:os-migrate-server:migrate_live',
      schema: liveMigrateSchema,
      async run(context, body, instance) {
        const args = body['os-migrateLive'] as Record<string, unknown>;
        const host = (args.host as string | null) ?? undefined;
        if (args.force !== undefined && asBoolean(args.force) && host === undefined) {
          throw badRequest("Can't force to a non-provided destination");
        }
        await checkDestination(instance, host);
        await startLiveMigration(db, client, {
          instance: instance.uuid,
          host,
          blockMigration:
            args.block_migration === 'auto' ? 'auto' : asBoolean(args.block_migration),
          requestedBy: context.caller.requestedBy,
        });
        return { status: 202 };
      },
    },
    migrate: {
      adminPolicy: 'os_compute_api:os-migrate-server:migrate',
      schema: (version) =>
        version.atLeast('2.56')
          ? {
              type: 'object',
              properties: {
                migrate: { type: 'object', properties: { host: HOST_NAME }, nullable: true },
              },
              required: ['migrate'],
            }
          : null,
      async run(context, body, instance) {
        const host = context.version.atLeast('2.56')
          ? ((body.migrate?.host as string | null) ?? undefined)
          : undefined;
        await checkDestination(instance, host);
        await startResize(db, client, config, {
          instance: instance.uuid,
          host,
          requestedBy: context.caller.requestedBy,
        });
        return { status: 202 };
      },
    },
    resize: {
      adminPolicy: null,
      schema: () => ({
        type: 'object',
        properties: {
          resize: {
            type: 'object',
            properties: {
              flavorRef: {
                anyOf: [
                  { type: 'string', minLength: 1 },
                  { type: 'integer', minimum: 1 },
                ],
                describe: 'a flavor id (a non-empty string or a positive integer)',
              },
              'OS-DCF:diskConfig': {
                enum: ['AUTO', 'MANUAL'],
                describe: 'one of "AUTO", "MANUAL"',
              },
            },
            required: ['flavorRef'],
          },
        },
        required: ['resize'],
      }),
      async run(context, body, instance) {
        await startResize(db, client, config, {
          instance: instance.uuid,
          flavor: flavorId(body.resize?.flavorRef),
          requestedBy: context.caller.requestedBy,
        });
        return { status: 202 };
      },
    },
    evacuate: {
      adminPolicy: 'os_compute_api:os-evacuate',
      schema: evacuateSchema,
      async run(context, body, instance) {
        const args = body.evacuate as Record<string, unknown>;
        if (args.adminPass !== undefined) {
          throw badRequest(
            'adminPass is not supported: ferry sets no passwords, the evacuated instance keeps its own disks',
          );
        }
        if (args.onSharedStorage !== undefined && !asBoolean(args.onSharedStorage)) {
          throw badRequest(
            'onSharedStorage false is not supported: ferry keeps no images to rebuild an instance from, its disks must be on storage the destination sees',
          );
        }
        if (args.force !== undefined && asBoolean(args.force)) {
          throw badRequest('force is not supported: ferry always checks the destination');
        }
        const host = (args.host as string | null | undefined) ?? undefined;
        await checkDestination(instance, host);
        await startEvacuation(db, client, config, {
          instance: instance.uuid,
          host,
          requestedBy: context.caller.requestedBy,
        });
        return { status: 200 };
      },
    },
    confirmResize: {
      adminPolicy: null,
      schema: () => nullAction('confirmResize'),
      run: (_context, _body, instance) => decide(instance, 'confirmResize'),
    },
    revertResize: {
      adminPolicy: null,
      schema: () => nullAction('revertResize'),
      run: (_context, _body, instance) => decide(instance, 'revertResize'),
    },
  };

  return [
    {
      method: 'POST',
      path: '/servers/:id/action',
      handle: async (context) => {
        const body = await context.body();
        const name = actionName(body);
        const action = Object.hasOwn(actions, name) ? actions[name] : undefined;
        if (!action) throw badRequest(`There is no such action: ${name}`);
        if (action.adminPolicy) requireAdmin(context.caller, action.adminPolicy);
        const schema = action.schema(context.version);
        if (schema) validate(schema, body);
        const instance = await findServer(db, context.params.id);
        try {
          return await action.run(context, body as Body, instance);
        } catch (error) {
          throw asApiError(error);
        }
      },
    },
  ];
}
