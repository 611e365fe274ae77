import { openDatabase } from '../../db/database';
import type { FerryConfig } from '../../config';
import type { BlockMigration, LiveMigrationState } from '../../workflows/live-migration-contract';
import { startLiveMigration } from '../../client/start-live-migration';
import { progressWriter } from '../progress-line';
import { watchMigration } from '../../client/watch-migration';
import { connectTemporal } from '../../temporal/client';
import { UsageError } from '../usage-error';
import { parseCommand, usageError } from '../command-spec';
import { LIVE_MIGRATE } from './moves-spec';

function blockMigration(raw: string): BlockMigration {
  if (raw === 'auto') return 'auto';
  if (raw === 'true' || raw === 'false') return raw === 'true';
  throw new UsageError(`--block-migration: "${raw}" is not auto, true or false`);
}

const MiB = 1024 * 1024;

/** One line per change while waiting: status, step, percent and what is left to copy. */
export function describeProgress(state: LiveMigrationState): string {
  const where = `${state.sourceHost} → ${state.destHost ?? '?'}`;
  const progress = state.progress;
  const copied = progress
    ? ` ${progress.percent}% (${Math.round((progress.memoryRemainingBytes + progress.diskRemainingBytes) / MiB)} MiB left${progress.postCopy ? ', post-copy' : ''})`
    : '';
  const error = state.error ? `: ${state.error}` : '';
  return `${state.instanceName} ${where}: ${state.status} [${state.step}]${copied}${error}`;
}

export async function liveMigrateCommand(config: FerryConfig, args: string[]): Promise<string> {
  const { values, positionals } = parseCommand(LIVE_MIGRATE, args);
  if (positionals.length !== 1) throw usageError(LIVE_MIGRATE);
  const request = {
    instance: positionals[0],
    host: values.host,
    blockMigration: blockMigration(values['block-migration']),
    requestedBy: 'cli',
  };
  const db = await openDatabase(config.databaseUrl);
  const client = await connectTemporal(config);
  try {
    const started = await startLiveMigration(db, client, request);
    if (!values.wait) {
      return values.json
        ? JSON.stringify(started)
        : `live migration ${started.migrationUuid} of ${started.instanceName} from ${started.sourceHost} accepted (workflow ${started.workflowId})`;
    }
    const progress = progressWriter();
    const onState = (state: LiveMigrationState) => {
      if (values.json) return;
      const counters = state.progress;
      progress.show({
        line: describeProgress(state),
        percent: counters?.percent ?? null,
        done: counters ? counters.memoryProcessedBytes + counters.diskProcessedBytes : null,
        total: counters ? counters.memoryTotalBytes + counters.diskTotalBytes : null,
      });
    };
    const final = await watchMigration(client, started.workflowId, onState).finally(() =>
      progress.end(),
    );
    return values.json
      ? JSON.stringify(final)
      : `${final.instanceName} now runs on ${final.destHost}`;
  } finally {
    await client.connection.close();
    await db.$disconnect();
  }
}
