import { openDatabase } from '../../db/database';
import type { Flavor, Instance } from '../../db/models';
import type { FerryConfig } from '../../config';
import { instanceStatus } from '../../client/instance-status';
import { findInstance } from '../../client/find-instance';
import { importInstances, type ImportResult } from '../../client/import-instances';
import { RequestError } from '../../client/request-error';
import { parseCommand, usageError } from '../command-spec';
import { groupUsageError } from '../command-list';
import { formatTable } from '../table';
import { INSTANCES_IMPORT, INSTANCES_LIST, INSTANCES_SHOW } from './inventory-spec';
import {
  MIGRATION_COLUMNS,
  formatFields,
  instanceMigrations,
  oneLine,
  tableTime,
} from './migrations';

function instanceView(instance: Instance & { flavor: Flavor }) {
  return {
    uuid: instance.uuid,
    name: instance.name,
    status: instanceStatus(instance),
    host: instance.hostName,
    flavorId: instance.flavorId,
    flavorName: instance.flavor.name,
    vcpus: instance.flavor.vcpus,
    memoryMiB: instance.flavor.memoryMiB,
    rootDiskGiB: instance.flavor.rootDiskGiB,
    vmState: instance.vmState,
    taskState: instance.taskState,
    powerState: instance.powerState,
    progress: instance.progress,
    locked: instance.locked,
    createdAt: instance.createdAt.toISOString(),
    updatedAt: instance.updatedAt.toISOString(),
  };
}

async function listInstances(config: FerryConfig, args: string[]): Promise<string> {
  const { values } = parseCommand(INSTANCES_LIST, args);
  const db = await openDatabase(config.databaseUrl);
  try {
    if (
      values.host !== undefined &&
      !(await db.host.findUnique({ where: { name: values.host } }))
    ) {
      throw new RequestError(
        'ComputeHostNotFound',
        404,
        `compute host ${values.host} could not be found`,
      );
    }
    const rows = await db.instance.findMany({
      where: { hostName: values.host },
      include: { flavor: true },
      orderBy: { name: 'asc' },
    });
    const instances = rows.map(instanceView);
    if (values.json) return JSON.stringify(instances);
    return formatTable(instances, [
      { header: 'NAME', value: (i) => i.name },
      { header: 'UUID', value: (i) => i.uuid },
      { header: 'STATUS', value: (i) => i.status },
      { header: 'TASK STATE', value: (i) => i.taskState },
      { header: 'POWER STATE', value: (i) => i.powerState },
      { header: 'HOST', value: (i) => i.host },
      { header: 'FLAVOR', value: (i) => i.flavorName },
    ]);
  } finally {
    await db.$disconnect();
  }
}

async function showInstance(config: FerryConfig, args: string[]): Promise<string> {
  const { values, positionals } = parseCommand(INSTANCES_SHOW, args);
  if (positionals.length !== 1) throw usageError(INSTANCES_SHOW);
  const db = await openDatabase(config.databaseUrl);
  try {
    const found = await findInstance(db, positionals[0]);
    const flavor = await db.flavor.findUniqueOrThrow({ where: { id: found.flavorId } });
    const instance = instanceView({ ...found, flavor });
    const migrations = await instanceMigrations(db, found.uuid);
    if (values.json) return JSON.stringify({ ...instance, migrations });
    const fields = formatFields([
      ['name', instance.name],
      ['uuid', instance.uuid],
      ['status', instance.status],
      ['vm state', instance.vmState],
      ['task state', instance.taskState],
      ['power state', instance.powerState],
      ['host', instance.host],
      [
        'flavor',
        `${instance.flavorName} (${instance.vcpus} vCPU${instance.vcpus === 1 ? '' : 's'}, ${instance.memoryMiB} MiB, ${instance.rootDiskGiB} GiB)`,
      ],
      ['progress', `${instance.progress}%`],
      ['locked', instance.locked ? 'yes' : 'no'],
      ['created', tableTime(instance.createdAt)],
      ['updated', tableTime(instance.updatedAt)],
    ]);
    if (migrations.length === 0) return `${fields}\n\nno migrations`;
    return `${fields}\n\n${formatTable(migrations, MIGRATION_COLUMNS)}`;
  } finally {
    await db.$disconnect();
  }
}

function describeImport(result: ImportResult): string {
  const rows = [
    ...result.imported.map((i) => ({
      result: 'imported',
      name: i.name,
      uuid: i.uuid,
      details: [`${i.status}, flavor ${i.flavor}`, ...i.warnings].join('; '),
    })),
    ...result.skipped.map((s) => ({
      result: 'skipped',
      name: s.name,
      uuid: s.uuid,
      details: s.reason,
    })),
  ];
  if (rows.length === 0) return `${result.host}: no domains`;
  const summary = `${result.host}: ${result.imported.length} imported, ${result.skipped.length} skipped`;
  const table = formatTable(rows, [
    { header: 'RESULT', value: (r) => r.result },
    { header: 'DOMAIN', value: (r) => r.name },
    { header: 'UUID', value: (r) => r.uuid },
    { header: 'DETAILS', value: (r) => oneLine(r.details) },
  ]);
  return `${table}\n${summary}`;
}

async function importFromHost(config: FerryConfig, args: string[]): Promise<string> {
  const { values } = parseCommand(INSTANCES_IMPORT, args);
  if (values.host === undefined) throw usageError(INSTANCES_IMPORT);
  const db = await openDatabase(config.databaseUrl);
  try {
    const result = await importInstances(db, { host: values.host, flavor: values.flavor });
    return values.json ? JSON.stringify(result) : describeImport(result);
  } finally {
    await db.$disconnect();
  }
}

export async function instancesCommand(config: FerryConfig, args: string[]): Promise<string> {
  const [sub, ...rest] = args;
  if (sub === 'list') return listInstances(config, rest);
  if (sub === 'show') return showInstance(config, rest);
  if (sub === 'import') return importFromHost(config, rest);
  throw groupUsageError('instances');
}
