import { openDatabase } from '../../db/database';
import type { FerryConfig } from '../../config';
import { abortMigration, forceCompleteMigration } from '../../client/migration-updates';
import { connectTemporal } from '../../temporal/client';
import { parseCommand, usageError } from '../command-spec';
import { ABORT, FORCE_COMPLETE } from './moves-spec';

/** `ferry abort INSTANCE` and `ferry force-complete INSTANCE`: Updates to its running migration. */
export async function migrationControlCommand(
  config: FerryConfig,
  command: 'abort' | 'force-complete',
  args: string[],
): Promise<string> {
  const spec = command === 'abort' ? ABORT : FORCE_COMPLETE;
  const { values, positionals } = parseCommand(spec, args);
  if (positionals.length !== 1) throw usageError(spec);
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
