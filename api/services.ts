/**
 * Nova's os-services for ferry's hosts (docs/host-liveness.md): each host is one `nova-compute`
 * service in zone `nova`, enabled or disabled (the same state as `ferry hosts enable|disable`),
 * up or down by its heartbeat, and forced down by the operator's word. Admin only, as Nova's
 * policy says. Service ids are UUIDs from 2.53 on, 1-based registration numbers before.
 */
import { changeHostService, type ServiceChange } from '../client/host-service';
import { hostLiveness } from '../db/host-liveness';
import type { Host } from '../db/models';
import { requireAdmin } from './auth';
import { asApiError, badRequest, notFound } from './errors';
import { nameUuid } from './name-uuid';
import type { ApiDeps, RequestContext, Route } from './router';
import { validate, type Schema } from './schema';

const UUID_IDS = '2.53';
const BINARY = 'nova-compute';

const REASON: Schema = { type: 'string', minLength: 1, maxLength: 255 };
const HOST_AND_BINARY = {
  host: { type: 'string', minLength: 1, maxLength: 255 },
  binary: { type: 'string', minLength: 1, maxLength: 255 },
} as const;

/** PUT /os-services/{id} from 2.53 on. */
const UPDATE_SCHEMA: Schema = {
  type: 'object',
  properties: {
    status: { enum: ['enabled', 'disabled'], describe: "one of ['enabled', 'disabled']" },
    disabled_reason: REASON,
    forced_down: { type: 'boolean' },
  },
};

/** The legacy actions before 2.53: PUT /os-services/{action} with the host and binary. */
const LEGACY_ACTIONS: Record<string, { schema: Schema; since?: string }> = {
  enable: { schema: { type: 'object', properties: HOST_AND_BINARY, required: ['host', 'binary'] } },
  disable: {
    schema: { type: 'object', properties: HOST_AND_BINARY, required: ['host', 'binary'] },
  },
  'disable-log-reason': {
    schema: {
      type: 'object',
      properties: { ...HOST_AND_BINARY, disabled_reason: REASON },
      required: ['host', 'binary', 'disabled_reason'],
    },
  },
  'force-down': {
    since: '2.11',
    schema: {
      type: 'object',
      properties: { ...HOST_AND_BINARY, forced_down: { type: 'boolean' } },
      required: ['host', 'binary', 'forced_down'],
    },
  },
};

export function serviceRoutes(deps: ApiDeps): Route[] {
  const { db, config } = deps;

  /** The one state the CLI changes too; its refusals answered in Nova's form. */
  const changeService = (name: string, change: ServiceChange) =>
    changeHostService(db, name, change).catch((error: unknown) => {
      throw asApiError(error);
    });

  const hostsInOrder = () => db.host.findMany({ orderBy: [{ createdAt: 'asc' }, { name: 'asc' }] });

  const serviceId = (context: RequestContext, host: Host, number: number) =>
    context.version.atLeast(UUID_IDS) ? nameUuid('service', host.name) : number;

  const view = (context: RequestContext, host: Host, number: number) => ({
    id: serviceId(context, host, number),
    binary: BINARY,
    host: host.name,
    zone: 'nova',
    status: host.state === 'disabled' ? 'disabled' : 'enabled',
    state: hostLiveness(host, new Date(), config.serviceDownTimeSeconds),
    updated_at: host.lastHeartbeatAt?.toISOString().replace('Z', '') ?? null,
    disabled_reason: host.disabledReason,
    ...(context.version.atLeast('2.11') ? { forced_down: host.forcedDown } : {}),
  });

  /** The host with this service id, with its number; 404 as Nova words it. */
  const findService = async (context: RequestContext, id: string) => {
    const hosts = await hostsInOrder();
    const index = hosts.findIndex((host, i) => String(serviceId(context, host, i + 1)) === id);
    if (index < 0) throw notFound(`Service ${id} could not be found.`);
    return { host: hosts[index], number: index + 1 };
  };

  /** The host a legacy action names: only nova-compute services exist in ferry. */
  const legacyHost = async (body: { host: string; binary: string }) => {
    const hosts = await hostsInOrder();
    const index = hosts.findIndex((host) => host.name === body.host);
    if (index < 0 || body.binary !== BINARY) {
      throw notFound(`Service ${body.binary} on host ${body.host} could not be found.`);
    }
    return { host: hosts[index], number: index + 1 };
  };

  const update = async (context: RequestContext) => {
    requireAdmin(context.caller, 'os_compute_api:os-services:update');
    const body = await context.body();
    validate(UPDATE_SCHEMA, body);
    const asked = body as {
      status?: 'enabled' | 'disabled';
      disabled_reason?: string;
      forced_down?: boolean;
    };
    if (asked.disabled_reason !== undefined && asked.status !== 'disabled') {
      throw badRequest("Specifying 'disabled_reason' is valid only with status 'disabled'.");
    }
    if (asked.status === undefined && asked.forced_down === undefined) {
      throw badRequest(
        "No updates were requested. Fields 'status' or 'forced_down' should be specified.",
      );
    }
    const { host, number } = await findService(context, context.params.id);
    const change: ServiceChange = {
      status: asked.status,
      disabledReason: asked.disabled_reason ?? null,
      forcedDown: asked.forced_down,
    };
    const { host: updated } = await changeService(host.name, change);
    return { status: 200, body: { service: view(context, updated, number) } };
  };

  const legacy = async (context: RequestContext, action: string) => {
    requireAdmin(context.caller, 'os_compute_api:os-services:update');
    const known = Object.hasOwn(LEGACY_ACTIONS, action) ? LEGACY_ACTIONS[action] : undefined;
    if (!known || (known.since !== undefined && !context.version.atLeast(known.since))) {
      throw notFound('Unknown action');
    }
    const body = await context.body();
    validate(known.schema, body);
    const asked = body as {
      host: string;
      binary: string;
      disabled_reason?: string;
      forced_down?: boolean;
    };
    const { host } = await legacyHost(asked);
    const change: ServiceChange =
      action === 'force-down'
        ? { forcedDown: asked.forced_down }
        : action === 'enable'
          ? { status: 'enabled' }
          : { status: 'disabled', disabledReason: asked.disabled_reason ?? null };
    const { host: updated } = await changeService(host.name, change);
    const service: Record<string, unknown> = { host: updated.name, binary: BINARY };
    if (action === 'force-down') service.forced_down = updated.forcedDown;
    else service.status = updated.state === 'disabled' ? 'disabled' : 'enabled';
    if (action === 'disable-log-reason') service.disabled_reason = updated.disabledReason;
    return { status: 200, body: { service } };
  };

  return [
    {
      method: 'GET',
      path: '/os-services',
      handle: async (context) => {
        requireAdmin(context.caller, 'os_compute_api:os-services:list');
        const host = context.query.get('host');
        const binary = context.query.get('binary');
        const services = (await hostsInOrder())
          .map((row, i) => ({ row, number: i + 1 }))
          .filter(({ row }) => host === null || row.name === host)
          .filter(() => binary === null || binary === BINARY)
          .map(({ row, number }) => view(context, row, number));
        return { status: 200, body: { services } };
      },
    },
    {
      method: 'PUT',
      path: '/os-services/:id',
      handle: (context) =>
        context.version.atLeast(UUID_IDS) ? update(context) : legacy(context, context.params.id),
    },
  ];
}
