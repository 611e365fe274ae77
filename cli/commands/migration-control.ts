import { parseArgs } from 'node:util';
import { openDatabase } from '../../db/database';
import type { FerryConfig } from '../../config';
import { abortMigration, forceCompleteMigration } from '../../client/migration-updates';
import { connectTemporal } from '../../temporal/client';
import { UsageError } from '../usage-error';

/** `ferry abort INSTANCE` and `ferry force-complete INSTANCE`: Updates to its running migration. */
export async function migrationControlCommand(
  config: FerryConfig,
  command: 'abort' | 'force-complete',
  args: string[],
): Promise<string> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { json: { type: 'boolean', default: false } },
  });
  if (positionals.length !== 1) throw new UsageError(`usage: ferry ${command} INSTANCE [--json]`);
  const db = await openDatabase(config.databaseUrl);
  const client = await connectTemporal(config);
  try {
    const send = command === 'abort' ? abortMigration : forceCompleteMigration;
    const state = await send(db, client, positionals[0]);
    if (values.json) return JSON.stringify(state);
    return command === 'abort'
      ? `abort of migration ${state.migrationUuid} of ${state.instanceName} requested`
      : `force-complete of migration ${state.migrationUuid} of ${state.instanceName} requested`;
  } finally {
    await client.connection.close();
    await db.$disconnect();
  }
}
