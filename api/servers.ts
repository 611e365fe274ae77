import type { Database } from '../db/database';
import type { Flavor, Host, Instance } from '../db/models';
import { instanceStatus } from '../client/instance-status';
import { notFound } from './errors';
import type { ApiDeps, RequestContext, Route } from './router';
import { hostId, isoTime, novaTime, paginate, resourceLinks } from './views';

type Server = Instance & { flavor: Flavor; host: Host };

/** Nova's power_state integers (nova/compute/power_state.py) for ferry's power states. */
const POWER_STATES: Record<string, number> = {
  nostate: 0,
  running: 1,
  paused: 3,
  shutdown: 4,
  crashed: 6,
  suspended: 7,
};

/** The statuses whose view shows the instance's progress (Nova's _progress_statuses). */
const PROGRESS_STATUSES = ['ACTIVE', 'RESIZE', 'VERIFY_RESIZE', 'MIGRATING'];

/** Nova's host_status: UP, DOWN, or MAINTENANCE for a disabled host. */
const HOST_STATUS: Record<string, string> = { up: 'UP', down: 'DOWN', disabled: 'MAINTENANCE' };

const serverNotFound = (id: string) => notFound(`Instance ${id} could not be found.`);

/** The instance a server id (its UUID, as in Nova) names; 404 when there is none. */
export async function findServer(db: Database, id: string): Promise<Instance> {
  const instance = await db.instance.findUnique({ where: { uuid: id } });
  if (!instance) throw serverNotFound(id);
  return instance;
}

/**
 * Nova's vm_state. ferry keeps a guest stopped outside the API as vm_state active with
 * power_state shutdown; Nova's power-state sync would have made that `stopped`, and so it shows.
 */
function vmState(instance: Instance): string {
  return instance.vmState === 'active' && instance.powerState === 'shutdown'
    ? 'stopped'
    : instance.vmState;
}

function flavorView(context: RequestContext, flavor: Flavor) {
  if (context.version.atLeast('2.47')) {
    return {
      vcpus: flavor.vcpus,
      ram: flavor.memoryMiB,
      disk: flavor.rootDiskGiB,
      ephemeral: 0,
      swap: 0,
      original_name: flavor.name,
      extra_specs: {},
    };
  }
  return {
    id: flavor.id,
    links: [{ rel: 'bookmark', href: `${context.baseUrl}/flavors/${flavor.id}` }],
  };
}

function basicView(context: RequestContext, server: Server) {
  return {
    id: server.uuid,
    name: server.name,
    links: resourceLinks(context, 'servers', server.uuid),
  };
}

/** Nova's detailed server view at the request's microversion, for the caller's role. */
function detailView(context: RequestContext, server: Server, fault: string | undefined) {
  const { version } = context;
  const admin = context.caller.role === 'admin';
  const status = instanceStatus(server);
  return {
    id: server.uuid,
    name: server.name,
    status,
    tenant_id: '',
    user_id: '',
    metadata: {},
    hostId: hostId(server.hostName),
    image: '',
    flavor: flavorView(context, server.flavor),
    created: isoTime(server.createdAt),
    updated: isoTime(server.updatedAt),
    addresses: {},
    accessIPv4: '',
    accessIPv6: '',
    links: resourceLinks(context, 'servers', server.uuid),
    'OS-DCF:diskConfig': 'MANUAL',
    ...(fault === undefined
      ? {}
      : { fault: { code: 500, created: isoTime(server.updatedAt), message: fault } }),
    ...(PROGRESS_STATUSES.includes(status) ? { progress: server.progress } : {}),
    'OS-EXT-AZ:availability_zone': 'nova',
    config_drive: '',
    key_name: null,
    'OS-SRV-USG:launched_at': novaTime(server.createdAt),
    'OS-SRV-USG:terminated_at': null,
    ...(admin
      ? {
          'OS-EXT-SRV-ATTR:host': server.hostName,
          'OS-EXT-SRV-ATTR:instance_name': server.name,
          'OS-EXT-SRV-ATTR:hypervisor_hostname': server.hostName,
          ...(version.atLeast('2.3')
            ? {
                'OS-EXT-SRV-ATTR:reservation_id': '',
                'OS-EXT-SRV-ATTR:launch_index': 0,
                'OS-EXT-SRV-ATTR:hostname': server.name,
                'OS-EXT-SRV-ATTR:kernel_id': '',
                'OS-EXT-SRV-ATTR:ramdisk_id': '',
                'OS-EXT-SRV-ATTR:root_device_name': '/dev/vda',
                'OS-EXT-SRV-ATTR:user_data': null,
              }
            : {}),
        }
      : {}),
    'OS-EXT-STS:task_state': server.taskState,
    'OS-EXT-STS:vm_state': vmState(server),
    'OS-EXT-STS:power_state': POWER_STATES[server.powerState] ?? 0,
    'os-extended-volumes:volumes_attached': [],
    ...(version.atLeast('2.16') && admin
      ? { host_status: HOST_STATUS[server.host.state] ?? 'UNKNOWN' }
      : {}),
    ...(version.atLeast('2.9') ? { locked: server.locked } : {}),
    ...(version.atLeast('2.19') ? { description: null } : {}),
    ...(version.atLeast('2.26') ? { tags: [] } : {}),
    ...(version.atLeast('2.63') ? { trusted_image_certificates: null } : {}),
    ...(version.atLeast('2.71') ? { server_groups: [] } : {}),
    ...(version.atLeast('2.73') ? { locked_reason: null } : {}),
  };
}

/** The error of each instance's latest failed migration, for the fault of ERROR servers. */
async function faults(db: Database, servers: Server[]): Promise<Map<string, string>> {
  const failed = servers.filter((server) => server.vmState === 'error').map((s) => s.uuid);
  if (failed.length === 0) return new Map();
  const migrations = await db.migration.findMany({
    where: { instanceUuid: { in: failed }, error: { not: null } },
    orderBy: { updatedAt: 'asc' },
    select: { instanceUuid: true, error: true },
  });
  return new Map(migrations.map((m) => [m.instanceUuid, m.error as string]));
}

/**
 * Nova's `name` filter is a regular expression; ferry matches a substring, anchored by a leading
 * `^` or trailing `$` (so a pattern cannot stall the API).
 */
function nameMatches(pattern: string, name: string): boolean {
  const start = pattern.startsWith('^');
  const end = pattern.endsWith('$') && pattern.length > (start ? 1 : 0);
  const core = pattern.slice(start ? 1 : 0, end ? -1 : undefined);
  if (start && end) return name === core;
  if (start) return name.startsWith(core);
  if (end) return name.endsWith(core);
  return name.includes(core);
}

/** The servers a list request selects: filters name, status, flavor and (admin) host. */
async function listServers(deps: ApiDeps, context: RequestContext): Promise<Server[]> {
  const { query } = context;
  const host = context.caller.role === 'admin' ? query.get('host') : null;
  const flavor = query.get('flavor');
  const servers = await deps.db.instance.findMany({
    where: {
      ...(host === null ? {} : { hostName: host }),
      ...(flavor === null ? {} : { flavorId: flavor }),
    },
    include: { flavor: true, host: true },
    orderBy: [{ createdAt: 'desc' }, { uuid: 'desc' }],
  });
  const name = query.get('name');
  const statuses = query.getAll('status').map((status) => status.toUpperCase());
  return servers.filter(
    (server) =>
      (name === null || nameMatches(name, server.name)) &&
      (statuses.length === 0 || statuses.includes(instanceStatus(server))),
  );
}

export function serverRoutes(deps: ApiDeps): Route[] {
  const list = async (context: RequestContext, detail: boolean) => {
    const collection = detail ? 'servers/detail' : 'servers';
    const { page, links } = paginate(
      context,
      collection,
      await listServers(deps, context),
      (s) => s.uuid,
    );
    const errors = detail ? await faults(deps.db, page) : new Map<string, string>();
    return {
      status: 200,
      body: {
        servers: page.map((server) =>
          detail
            ? detailView(context, server, errors.get(server.uuid))
            : basicView(context, server),
        ),
        ...(links.length > 0 ? { servers_links: links } : {}),
      },
    };
  };
  return [
    { method: 'GET', path: '/servers', handle: (context) => list(context, false) },
    { method: 'GET', path: '/servers/detail', handle: (context) => list(context, true) },
    {
      method: 'GET',
      path: '/servers/:id',
      handle: async (context) => {
        const server = await deps.db.instance.findUnique({
          where: { uuid: context.params.id },
          include: { flavor: true, host: true },
        });
        if (!server) throw serverNotFound(context.params.id);
        const errors = await faults(deps.db, [server]);
        return {
          status: 200,
          body: { server: detailView(context, server, errors.get(server.uuid)) },
        };
      },
    },
  ];
}
