import { openDatabase } from '../../db/database';
import type { Flavor } from '../../db/models';
import type { FerryConfig } from '../../config';
import { parseCommand, usageError } from '../command-spec';
import { groupUsageError } from '../command-list';
import { formatTable } from '../table';
import { UsageError } from '../usage-error';
import { FLAVORS_CREATE, FLAVORS_LIST } from './inventory-spec';

/** Nova's flavor names and ids, kept to what is safe in a URL and a shell: 1 to 255 characters. */
const FLAVOR_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$/;
const NAME_RULE = "letters, digits, '.', '_' and '-', starting with a letter or digit, at most 255";

/** The largest value the database's integer columns hold (Nova's SQL_INT_MAX). */
const INT_MAX = 2_147_483_647;

function flavorView(flavor: Flavor) {
  return {
    id: flavor.id,
    name: flavor.name,
    vcpus: flavor.vcpus,
    memoryMiB: flavor.memoryMiB,
    rootDiskGiB: flavor.rootDiskGiB,
    disabled: flavor.disabled,
  };
}

/** A required option that must be a whole number from 1 to INT_MAX. */
function positiveInteger(option: string, raw: string | undefined): number {
  if (raw === undefined) throw new UsageError(`${option}: required (a positive integer)`);
  const value = Number(raw);
  if (!/^\d+$/.test(raw) || value < 1) {
    throw new UsageError(`${option}: "${raw}" is not a positive integer`);
  }
  if (value > INT_MAX) throw new UsageError(`${option}: ${raw} is more than ${INT_MAX}`);
  return value;
}

async function createFlavor(config: FerryConfig, args: string[]): Promise<string> {
  const { values, positionals } = parseCommand(FLAVORS_CREATE, args);
  const [name, ...extra] = positionals;
  if (!name || extra.length > 0) throw usageError(FLAVORS_CREATE);
  if (!FLAVOR_NAME.test(name)) throw new UsageError(`flavor name "${name}": ${NAME_RULE}`);
  const id = values.id ?? name;
  if (!FLAVOR_NAME.test(id)) throw new UsageError(`--id "${id}": ${NAME_RULE}`);
  const size = {
    vcpus: positiveInteger('--vcpus', values.vcpus),
    memoryMiB: positiveInteger('--memory-mb', values['memory-mb']),
    rootDiskGiB: positiveInteger('--disk-gb', values['disk-gb']),
  };
  const db = await openDatabase(config.databaseUrl);
  try {
    if (await db.flavor.findUnique({ where: { name } })) {
      throw new UsageError(`flavor "${name}" already exists`);
    }
    const holder = await db.flavor.findUnique({ where: { id } });
    if (holder) {
      throw new UsageError(`--id "${id}": already the id of flavor "${holder.name}"`);
    }
    const flavor = await db.flavor.create({ data: { id, name, ...size } });
    return values.json
      ? JSON.stringify(flavorView(flavor))
      : `flavor ${name} created (id ${id}: ${size.vcpus} vCPUs, ${size.memoryMiB} MiB, ${size.rootDiskGiB} GiB)`;
  } finally {
    await db.$disconnect();
  }
}

async function listFlavors(config: FerryConfig, args: string[]): Promise<string> {
  const { values } = parseCommand(FLAVORS_LIST, args);
  const db = await openDatabase(config.databaseUrl);
  try {
    const flavors = (await db.flavor.findMany({ orderBy: { name: 'asc' } })).map(flavorView);
    if (values.json) return JSON.stringify(flavors);
    return formatTable(flavors, [
      { header: 'NAME', value: (f) => f.name },
      { header: 'ID', value: (f) => f.id },
      { header: 'VCPUS', value: (f) => f.vcpus },
      { header: 'MEMORY MIB', value: (f) => f.memoryMiB },
      { header: 'DISK GIB', value: (f) => f.rootDiskGiB },
      { header: 'DISABLED', value: (f) => (f.disabled ? 'yes' : 'no') },
    ]);
  } finally {
    await db.$disconnect();
  }
}

export async function flavorsCommand(config: FerryConfig, args: string[]): Promise<string> {
  const [sub, ...rest] = args;
  if (sub === 'list') return listFlavors(config, rest);
  if (sub === 'create') return createFlavor(config, rest);
  throw groupUsageError('flavors');
}
