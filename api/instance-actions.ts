/**
 * Nova's os-instance-actions: the actions ferry recorded for a server (one per operation, its
 * request id the migration's uuid) and their events. Members see them too (Nova's project reader
 * rule; ferry has no projects, as its server views show members every server).
 */
import { badRequest, notFound } from './errors';
import {
  actionDetailView,
  actionUpdatedAt,
  actionView,
  WITH_EVENTS,
} from './instance-action-views';
import type { ApiDeps, RequestContext, Route } from './router';
import { findServer } from './servers';
import { checkTimeWindow, paginate, timeFilter } from './views';

/** The query parameters the list takes from 2.58 (Nova's schema refuses any other). */
function listParams(context: RequestContext): string[] {
  const names = ['limit', 'marker', 'changes-since'];
  return context.version.atLeast('2.66') ? [...names, 'changes-before'] : names;
}

/**
 * The filter of the list's query from 2.58: an unknown or repeated parameter, a time that is not
 * ISO 8601 or changes-before earlier than changes-since is refused with 400 naming it.
 */
function listFilter(context: RequestContext): { since?: Date; before?: Date } {
  const { query } = context;
  const allowed = listParams(context);
  const unexpected = [...new Set(query.keys())].filter((name) => !allowed.includes(name));
  if (unexpected.length > 0) {
    const names = unexpected.map((name) => `'${name}'`).join(', ');
    throw badRequest(
      `Additional properties are not allowed (${names} ${unexpected.length > 1 ? 'were' : 'was'} unexpected)`,
    );
  }
  for (const name of allowed) {
    const values = query.getAll(name);
    if (values.length > 1) {
      throw badRequest(
        `Invalid input for query parameters ${name}. Value: ${values.join(', ')}. It may be given only once.`,
      );
    }
  }
  return { since: timeFilter(query, 'changes-since'), before: timeFilter(query, 'changes-before') };
}

export function instanceActionRoutes(deps: ApiDeps): Route[] {
  const { db } = deps;
  return [
    {
      method: 'GET',
      path: '/servers/:id/os-instance-actions',
      handle: async (context) => {
        const paged = context.version.atLeast('2.58');
        const { since, before } = paged ? listFilter(context) : {};
        const { uuid } = await findServer(db, context.params.id);
        checkTimeWindow(since, before);
        const rows = await db.instanceAction.findMany({
          where: { instanceUuid: uuid },
          include: WITH_EVENTS,
          orderBy: [{ startTime: 'desc' }, { id: 'desc' }],
        });
        if (!paged) {
          return {
            status: 200,
            body: { instanceActions: rows.map((row) => actionView(context, row)) },
          };
        }
        const collection = `servers/${encodeURIComponent(context.params.id)}/os-instance-actions`;
        const { page, links } = paginate(context, collection, rows, (row) => row.requestId, {
          unknownMarker: (marker) => `Marker ${marker} could not be found.`,
          keep: (row) => {
            const updated = actionUpdatedAt(row);
            return !(since && updated < since) && !(before && updated > before);
          },
        });
        return {
          status: 200,
          body: {
            instanceActions: page.map((row) => actionView(context, row)),
            ...(links.length > 0 ? { links } : {}),
          },
        };
      },
    },
    {
      method: 'GET',
      path: '/servers/:id/os-instance-actions/:requestId',
      handle: async (context) => {
        const { uuid } = await findServer(db, context.params.id);
        const { requestId } = context.params;
        const action = await db.instanceAction.findFirst({
          where: { instanceUuid: uuid, requestId },
          include: WITH_EVENTS,
        });
        if (!action) throw notFound(`Action ${requestId} not found`);
        const migration = await db.migration.findUnique({
          where: { uuid: requestId },
          select: { sourceHost: true, destHost: true },
        });
        return {
          status: 200,
          body: { instanceAction: actionDetailView(context, action, migration) },
        };
      },
    },
  ];
}
