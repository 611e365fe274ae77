import { openDatabase, type Database } from '../../db/database';
import type { Migration } from '../../db/models';
import type { FerryConfig } from '../../config';
import { findInstance } from '../../client/find-instance';
import { RequestError } from '../../client/request-error';
import { parseCommand, usageError } from '../command-spec';
import { groupUsageError } from '../command-list';
import { formatTable, type Column } from '../table';
import { UsageError } from '../usage-error';
import { MIGRATIONS_LIST, MIGRATIONS_SHOW } from './inventory-spec';

const TYPES = ['live-migration', 'migration', 'resize', 'evacuation'];

/** The largest value the database's integer columns hold: a larger number is no migration id. */
const INT_MAX = 2_147_483_647;
const MiB = 1024 * 1024;

const iso = (date: Date | null) => date?.toISOString() ?? null;
const bytes = (value: bigint | null) => (value === null ? null : Number(value));

/** A time in a table: ISO 8601 to the second. */
export const tableTime = (time: string | null) => time?.replace(/\.\d{3}Z$/, 'Z') ?? null;

/** Text for one table cell: runs of whitespace (newlines in a libvirt error) as one space. */
export const oneLine = (text: string | null) => text?.replace(/\s+/g, ' ') ?? null;

export function migrationView(migration: Migration & { instance: { name: string } }) {
  return {
    id: migration.id,
    uuid: migration.uuid,
    instanceUuid: migration.instanceUuid,
    instanceName: migration.instance.name,
    type: migration.migrationType,
    status: migration.status,
    sourceHost: migration.sourceHost,
    destHost: migration.destHost,
    oldFlavorId: migration.oldFlavorId,
    newFlavorId: migration.newFlavorId,
    workflowId: migration.workflowId,
    memoryTotalBytes: bytes(migration.memoryTotalBytes),
    memoryProcessedBytes: bytes(migration.memoryProcessedBytes),
    memoryRemainingBytes: bytes(migration.memoryRemainingBytes),
    diskTotalBytes: bytes(migration.diskTotalBytes),
    diskProcessedBytes: bytes(migration.diskProcessedBytes),
    diskRemainingBytes: bytes(migration.diskRemainingBytes),
    error: migration.error,
    confirmDeadline: iso(migration.confirmDeadline),
    createdAt: migration.createdAt.toISOString(),
    updatedAt: migration.updatedAt.toISOString(),
    finishedAt: iso(migration.finishedAt),
  };
}

export type MigrationView = ReturnType<typeof migrationView>;

/** "P of T" MiB processed, or null when the total is not known (yet). */
function processed(done: number | null, total: number | null): string | null {
  if (total === null) return null;
  return `${Math.round((done ?? 0) / MiB)} of ${Math.round(total / MiB)}`;
}

const hosts = (m: MigrationView) => `${m.sourceHost} → ${m.destHost ?? '?'}`;

export const MIGRATION_COLUMNS: Column<MigrationView>[] = [
  { header: 'ID', value: (m) => m.id },
  { header: 'UUID', value: (m) => m.uuid },
  { header: 'INSTANCE', value: (m) => m.instanceName },
  { header: 'TYPE', value: (m) => m.type },
  { header: 'STATUS', value: (m) => m.status },
  { header: 'SOURCE → DEST', value: hosts },
  { header: 'MEMORY MIB', value: (m) => processed(m.memoryProcessedBytes, m.memoryTotalBytes) },
  { header: 'DISK MIB', value: (m) => processed(m.diskProcessedBytes, m.diskTotalBytes) },
  { header: 'CREATED', value: (m) => tableTime(m.createdAt) },
  { header: 'UPDATED', value: (m) => tableTime(m.updatedAt) },
  { header: 'ERROR', value: (m) => oneLine(m.error) },
];

/** Label-value lines, the values lined up; null values as '-'. */
export function formatFields(fields: [string, string | number | null][]): string {
  const width = Math.max(...fields.map(([label]) => label.length));
  return fields.map(([label, value]) => `${label.padEnd(width)}  ${value ?? '-'}`).join('\n');
}

/** The migrations of an instance, newest first. */
export async function instanceMigrations(
  db: Database,
  instanceUuid: string,
): Promise<MigrationView[]> {
  const rows = await db.migration.findMany({
    where: { instanceUuid },
    include: { instance: { select: { name: true } } },
    orderBy: { id: 'desc' },
  });
  return rows.map(migrationView);
}

async function listMigrations(config: FerryConfig, args: string[]): Promise<string> {
  const { values } = parseCommand(MIGRATIONS_LIST, args);
  if (values.type !== undefined && !TYPES.includes(values.type)) {
    throw new UsageError(
      `--type: "${values.type}" is not live-migration, migration, resize or evacuation`,
    );
  }
  const db = await openDatabase(config.databaseUrl);
  try {
    const instance =
      values.instance === undefined ? undefined : await findInstance(db, values.instance);
    const rows = await db.migration.findMany({
      where: { instanceUuid: instance?.uuid, status: values.status, migrationType: values.type },
      include: { instance: { select: { name: true } } },
      orderBy: { id: 'desc' },
    });
    const migrations = rows.map(migrationView);
    return values.json ? JSON.stringify(migrations) : formatTable(migrations, MIGRATION_COLUMNS);
  } finally {
    await db.$disconnect();
  }
}

/** A migration by its integer id or its uuid; MigrationNotFound (404) when there is none. */
async function findMigration(db: Database, idOrUuid: string) {
  const byId = /^\d{1,10}$/.test(idOrUuid) && Number(idOrUuid) <= INT_MAX;
  const migration = await db.migration.findFirst({
    where: byId ? { id: Number(idOrUuid) } : { uuid: idOrUuid },
    include: { instance: { select: { name: true } } },
  });
  if (!migration) {
    throw new RequestError('MigrationNotFound', 404, `migration ${idOrUuid} could not be found`);
  }
  return migration;
}

async function showMigration(config: FerryConfig, args: string[]): Promise<string> {
  const { values, positionals } = parseCommand(MIGRATIONS_SHOW, args);
  if (positionals.length !== 1) throw usageError(MIGRATIONS_SHOW);
  const db = await openDatabase(config.databaseUrl);
  try {
    const migration = migrationView(await findMigration(db, positionals[0]));
    const action = await db.instanceAction.findUnique({
      where: { requestId: migration.uuid },
      include: { events: { orderBy: [{ startTime: 'asc' }, { id: 'asc' }] } },
    });
    const events = (action?.events ?? []).map((event) => ({
      event: event.event,
      startTime: event.startTime.toISOString(),
      finishTime: iso(event.finishTime),
      result: event.result,
      details: event.details,
    }));
    const shown = {
      ...migration,
      action: action && {
        action: action.action,
        userId: action.userId,
        message: action.message,
        startTime: action.startTime.toISOString(),
        finishTime: iso(action.finishTime),
      },
      events,
    };
    if (values.json) return JSON.stringify(shown);
    const fields = formatFields([
      ['id', migration.id],
      ['uuid', migration.uuid],
      ['instance', `${migration.instanceName} (${migration.instanceUuid})`],
      ['type', migration.type],
      ['status', migration.status],
      ['source → dest', hosts(migration)],
      ['flavor', `${migration.oldFlavorId} → ${migration.newFlavorId}`],
      ['memory MiB', processed(migration.memoryProcessedBytes, migration.memoryTotalBytes)],
      ['disk MiB', processed(migration.diskProcessedBytes, migration.diskTotalBytes)],
      ['workflow', migration.workflowId],
      ['action', action && `${action.action} by ${action.userId ?? '-'}`],
      ['created', tableTime(migration.createdAt)],
      ['updated', tableTime(migration.updatedAt)],
      ['finished', tableTime(migration.finishedAt)],
      ['confirm deadline', tableTime(migration.confirmDeadline)],
      ['error', oneLine(migration.error)],
    ]);
    if (events.length === 0) return `${fields}\n\nno instance action events`;
    const table = formatTable(events, [
      { header: 'EVENT', value: (e) => e.event },
      { header: 'START', value: (e) => tableTime(e.startTime) },
      { header: 'FINISH', value: (e) => tableTime(e.finishTime) },
      { header: 'RESULT', value: (e) => e.result },
      { header: 'DETAILS', value: (e) => oneLine(e.details) },
    ]);
    return `${fields}\n\n${table}`;
  } finally {
    await db.$disconnect();
  }
}

export async function migrationsCommand(config: FerryConfig, args: string[]): Promise<string> {
  const [sub, ...rest] = args;
  if (sub === 'list') return listMigrations(config, rest);
  if (sub === 'show') return showMigration(config, rest);
  throw groupUsageError('migrations');
}
