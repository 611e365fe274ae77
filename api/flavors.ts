import type { Flavor } from '../db/models';
import { badRequest, notFound } from './errors';
import type { ApiDeps, RequestContext, Route } from './router';
import { paginate, resourceLinks } from './views';

function basicView(context: RequestContext, flavor: Flavor) {
  return {
    id: flavor.id,
    name: flavor.name,
    links: resourceLinks(context, 'flavors', flavor.id),
    ...(context.version.atLeast('2.55') ? { description: null } : {}),
  };
}

/** Nova's flavor detail: no ephemeral disk, no swap (an empty string before 2.75), public. */
function detailView(context: RequestContext, flavor: Flavor) {
  return {
    ...basicView(context, flavor),
    ram: flavor.memoryMiB,
    disk: flavor.rootDiskGiB,
    vcpus: flavor.vcpus,
    'OS-FLV-EXT-DATA:ephemeral': 0,
    'OS-FLV-DISABLED:disabled': flavor.disabled,
    swap: context.version.atLeast('2.75') ? 0 : '',
    rxtx_factor: 1.0,
    'os-flavor-access:is_public': true,
    ...(context.version.atLeast('2.61') ? { extra_specs: {} } : {}),
  };
}

/** A `minRam` or `minDisk` filter: a non-negative integer, 400 otherwise (as Nova says it). */
function minimum(query: URLSearchParams, name: 'minRam' | 'minDisk'): number {
  const raw = query.get(name);
  if (raw === null) return 0;
  if (!/^\d+$/.test(raw)) throw badRequest(`Invalid ${name} filter [${raw}]`);
  return Number(raw);
}

export function flavorRoutes(deps: ApiDeps): Route[] {
  const list = async (context: RequestContext, detail: boolean) => {
    const minRam = minimum(context.query, 'minRam');
    const minDisk = minimum(context.query, 'minDisk');
    const flavors = await deps.db.flavor.findMany({
      where: {
        memoryMiB: { gte: minRam },
        rootDiskGiB: { gte: minDisk },
        ...(context.caller.role === 'admin' ? {} : { disabled: false }),
      },
      orderBy: { id: 'asc' },
    });
    const collection = detail ? 'flavors/detail' : 'flavors';
    const { page, links } = paginate(context, collection, flavors, (flavor) => flavor.id);
    return {
      status: 200,
      body: {
        flavors: page.map((flavor) =>
          detail ? detailView(context, flavor) : basicView(context, flavor),
        ),
        ...(links.length > 0 ? { flavors_links: links } : {}),
      },
    };
  };
  return [
    { method: 'GET', path: '/flavors', handle: (context) => list(context, false) },
    { method: 'GET', path: '/flavors/detail', handle: (context) => list(context, true) },
    {
      method: 'GET',
      path: '/flavors/:id',
      handle: async (context) => {
        const flavor = await deps.db.flavor.findUnique({ where: { id: context.params.id } });
        if (!flavor) throw notFound(`Flavor ${context.params.id} could not be found.`);
        return { status: 200, body: { flavor: detailView(context, flavor) } };
      },
    },
    {
      // ferry's flavors carry no extra specs; the openstack client asks for them on every list.
      method: 'GET',
      path: '/flavors/:id/os-extra_specs',
      handle: async (context) => {
        const flavor = await deps.db.flavor.findUnique({ where: { id: context.params.id } });
        if (!flavor) throw notFound(`Flavor ${context.params.id} could not be found.`);
        return { status: 200, body: { extra_specs: {} } };
      },
    },
  ];
}
