import type { Prisma } from '../db/models';
import { requireAdmin } from './auth';
import { badRequest } from './errors';
import type { ApiDeps, RequestContext, Route } from './router';
import { checkTimeWindow, novaTime, paginate, resourceLinks, timeFilter } from './views';

/** Nova's in-progress statuses of a live migration (the ones server migrations list). */
export const LIVE_IN_PROGRESS = ['queued', 'preparing', 'running', 'post-migrating'];

const MIGRATION_TYPES = ['live-migration', 'migration', 'resize', 'evacuation'];

/** A Migration row with what its views need of the destination host. */
export const WITH_DEST = { dest: { select: { sshAddress: true } } } as const;
type MigrationRow = Prisma.MigrationGetPayload<{ include: typeof WITH_DEST }>;

const bytes = (value: bigint | null) => (value === null ? null : Number(value));

/** The fields os-migrations and server migrations share (Nova's names; nodes are the hosts). */
function common(context: RequestContext, row: MigrationRow) {
  return {
    id: row.id,
    source_compute: row.sourceHost,
    source_node: row.sourceHost,
    dest_compute: row.destHost,
    dest_node: row.destHost,
    dest_host: row.dest?.sshAddress ?? null,
    status: row.status,
    created_at: novaTime(row.createdAt),
    updated_at: novaTime(row.updatedAt),
    ...(context.version.atLeast('2.59') ? { uuid: row.uuid } : {}),
    ...(context.version.atLeast('2.80') ? { user_id: null, project_id: null } : {}),
  };
}

/** Nova's server migration view (GET /servers/{id}/migrations): with memory and disk bytes. */
export function serverMigrationView(context: RequestContext, row: MigrationRow) {
  return {
    ...common(context, row),
    server_uuid: row.instanceUuid,
    memory_total_bytes: bytes(row.memoryTotalBytes),
    memory_processed_bytes: bytes(row.memoryProcessedBytes),
    memory_remaining_bytes: bytes(row.memoryRemainingBytes),
    disk_total_bytes: bytes(row.diskTotalBytes),
    disk_processed_bytes: bytes(row.diskProcessedBytes),
    disk_remaining_bytes: bytes(row.diskRemainingBytes),
  };
}

/** Nova's os-migrations view: the type from 2.23, a link to in-progress live migrations. */
function migrationView(context: RequestContext, row: MigrationRow) {
  const since223 = context.version.atLeast('2.23');
  const live = row.migrationType === 'live-migration' && LIVE_IN_PROGRESS.includes(row.status);
  return {
    ...common(context, row),
    instance_uuid: row.instanceUuid,
    old_instance_type_id: row.oldFlavorId,
    new_instance_type_id: row.newFlavorId,
    ...(since223 ? { migration_type: row.migrationType } : {}),
    ...(since223 && live
      ? { links: resourceLinks(context, `servers/${row.instanceUuid}/migrations`, row.id) }
      : {}),
  };
}

/** The Prisma filter for os-migrations' query parameters, in Nova's names. */
function filters(context: RequestContext): Prisma.MigrationWhereInput {
  const { query, version } = context;
  const type = query.get('migration_type');
  if (type !== null && !MIGRATION_TYPES.includes(type)) {
    throw badRequest(
      `Invalid input for query parameters migration_type. Value: ${type}. It must be one of ${MIGRATION_TYPES.join(', ')}.`,
    );
  }
  const since = version.atLeast('2.59') ? timeFilter(query, 'changes-since') : undefined;
  const before = version.atLeast('2.66') ? timeFilter(query, 'changes-before') : undefined;
  checkTimeWindow(since, before);
  const exact = (name: string) => query.get(name) ?? undefined;
  const host = query.get('host');
  return {
    instanceUuid: exact('instance_uuid'),
    status: exact('status'),
    migrationType: type ?? undefined,
    sourceHost: exact('source_compute'),
    ...(host === null ? {} : { OR: [{ sourceHost: host }, { destHost: host }] }),
    ...(since || before ? { updatedAt: { gte: since, lte: before } } : {}),
  };
}

export function migrationRoutes(deps: ApiDeps): Route[] {
  return [
    {
      method: 'GET',
      path: '/os-migrations',
      handle: async (context) => {
        requireAdmin(context.caller, 'os_compute_api:os-migrations:index');
        const rows = await deps.db.migration.findMany({
          where: filters(context),
          include: WITH_DEST,
          orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
        });
        const { page, links } = context.version.atLeast('2.59')
          ? paginate(context, 'os-migrations', rows, (row) => row.uuid)
          : { page: rows, links: [] };
        return {
          status: 200,
          body: {
            migrations: page.map((row) => migrationView(context, row)),
            ...(links.length > 0 ? { migrations_links: links } : {}),
          },
        };
      },
    },
  ];
}
