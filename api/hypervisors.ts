import { hostLiveness, type Liveness } from '../db/host-liveness';
import { readHostStates, type HostState } from '../db/host-state';
import { nameUuid } from './name-uuid';
import type { Host } from '../db/models';
import { requireAdmin } from './auth';
import { badRequest, notFound } from './errors';
import type { ApiDeps, RequestContext, Route } from './router';
import { BOOLEAN_VALUES, asBoolean } from './schema';
import { paginate } from './views';

/** Hypervisor ids are UUIDs from 2.53 on, integers before (Nova's compute node ids). */
const UUID_IDS = '2.53';

interface Hypervisor {
  host: Host;
  state: HostState;
  liveness: Liveness;
  /** 1-based position in registration order: the id before 2.53. */
  number: number;
  servers: { name: string; uuid: string; busy: boolean }[];
}

async function hypervisors(deps: ApiDeps): Promise<Hypervisor[]> {
  const hosts = await deps.db.host.findMany({ orderBy: [{ createdAt: 'asc' }, { name: 'asc' }] });
  const states = new Map((await readHostStates(deps.db, {})).map((state) => [state.name, state]));
  const instances = await deps.db.instance.findMany({
    select: { hostName: true, name: true, uuid: true, taskState: true },
    orderBy: { name: 'asc' },
  });
  const now = new Date();
  return hosts.map((host, index) => ({
    host,
    state: states.get(host.name) as HostState,
    liveness: hostLiveness(host, now, deps.config.serviceDownTimeSeconds),
    number: index + 1,
    servers: instances
      .filter((instance) => instance.hostName === host.name)
      .map(({ name, uuid, taskState }) => ({ name, uuid, busy: taskState !== null })),
  }));
}

const hypervisorId = (context: RequestContext, hypervisor: Hypervisor) =>
  context.version.atLeast(UUID_IDS)
    ? nameUuid('hypervisor', hypervisor.host.name)
    : hypervisor.number;

/** Nova's hypervisor view at the request's microversion (2.88 dropped the usage fields). */
function view(
  context: RequestContext,
  hypervisor: Hypervisor,
  detail: boolean,
  withServers: boolean,
) {
  const { host, state } = hypervisor;
  const { version } = context;
  const total = state.total;
  const used = state.used;
  const cpuInfo = { arch: host.arch, model: host.cpuModel };
  return {
    id: hypervisorId(context, hypervisor),
    hypervisor_hostname: host.name,
    state: hypervisor.liveness,
    status: host.state === 'disabled' ? 'disabled' : 'enabled',
    ...(detail
      ? {
          hypervisor_type: host.hypervisorType,
          hypervisor_version: host.hypervisorVersion,
          host_ip: host.sshAddress,
          service: {
            id: version.atLeast(UUID_IDS) ? nameUuid('service', host.name) : hypervisor.number,
            host: host.name,
            disabled_reason: host.disabledReason,
          },
        }
      : {}),
    ...(detail && !version.atLeast('2.88')
      ? {
          vcpus: total.vcpus,
          memory_mb: total.memoryMiB,
          local_gb: total.diskGiB,
          vcpus_used: used.vcpus,
          memory_mb_used: used.memoryMiB,
          local_gb_used: used.diskGiB,
          free_ram_mb: total.memoryMiB - used.memoryMiB,
          free_disk_gb: total.diskGiB - used.diskGiB,
          current_workload: hypervisor.servers.filter((server) => server.busy).length,
          running_vms: hypervisor.servers.length,
          disk_available_least: total.diskGiB - used.diskGiB,
          cpu_info: version.atLeast('2.28') ? cpuInfo : JSON.stringify(cpuInfo),
        }
      : {}),
    ...(detail && version.atLeast('2.88') ? { uptime: null } : {}),
    ...(withServers
      ? { servers: hypervisor.servers.map(({ name, uuid }) => ({ name, uuid })) }
      : {}),
  };
}

/** `with_servers` (2.53 on): a boolean as Nova's bool_from_string takes it, strictly. */
function withServers(context: RequestContext): boolean {
  const raw = context.query.get('with_servers');
  if (raw === null || !context.version.atLeast(UUID_IDS)) return false;
  if (!BOOLEAN_VALUES.includes(raw)) {
    throw badRequest(
      `Invalid input for query parameters with_servers. Value: ${raw}. It must be a boolean.`,
    );
  }
  return asBoolean(raw);
}

export function hypervisorRoutes(deps: ApiDeps): Route[] {
  const list = async (context: RequestContext, detail: boolean) => {
    requireAdmin(
      context.caller,
      `os_compute_api:os-hypervisors:${detail ? 'list-detail' : 'list'}`,
    );
    const servers = withServers(context);
    let all = await hypervisors(deps);
    const pattern = context.version.atLeast(UUID_IDS)
      ? context.query.get('hypervisor_hostname_pattern')
      : null;
    if (pattern !== null) {
      if (context.query.has('limit') || context.query.has('marker')) {
        throw badRequest(
          'Paging over hypervisors with the hypervisor_hostname_pattern query parameter is not supported.',
        );
      }
      all = all.filter((hypervisor) => hypervisor.host.name.includes(pattern));
      if (all.length === 0) throw notFound(`No hypervisor matching '${pattern}' could be found.`);
    }
    const collection = detail ? 'os-hypervisors/detail' : 'os-hypervisors';
    const { page, links } = context.version.atLeast('2.33')
      ? paginate(context, collection, all, (hypervisor) =>
          String(hypervisorId(context, hypervisor)),
        )
      : { page: all, links: [] };
    return {
      status: 200,
      body: {
        hypervisors: page.map((hypervisor) => view(context, hypervisor, detail, servers)),
        ...(links.length > 0 ? { hypervisors_links: links } : {}),
      },
    };
  };
  return [
    { method: 'GET', path: '/os-hypervisors', handle: (context) => list(context, false) },
    { method: 'GET', path: '/os-hypervisors/detail', handle: (context) => list(context, true) },
    {
      method: 'GET',
      path: '/os-hypervisors/:id',
      handle: async (context) => {
        requireAdmin(context.caller, 'os_compute_api:os-hypervisors:show');
        const servers = withServers(context);
        const { id } = context.params;
        const found = (await hypervisors(deps)).find(
          (hypervisor) => String(hypervisorId(context, hypervisor)) === id,
        );
        if (!found) throw notFound(`Hypervisor with ID '${id}' could not be found.`);
        return { status: 200, body: { hypervisor: view(context, found, true, servers) } };
      },
    },
  ];
}
