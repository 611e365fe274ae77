/** `ferry evacuate INSTANCE` and `ferry hosts evacuate NAME` (docs/evacuate.md). */
import type { FerryConfig } from '../../config';
import {
  evacuateHost,
  evacuationEnd,
  startEvacuation,
  type HostEvacuationItem,
} from '../../client/start-evacuation';
import { parseCommand, usageError } from '../command-spec';
import { formatTable } from '../table';
import { UsageError } from '../usage-error';
import { withClients } from '../with-clients';
import { EVACUATE, HOSTS_EVACUATE } from './evacuate-spec';

function describe(item: HostEvacuationItem): string {
  const where = item.destHost === null ? '' : ` on ${item.destHost}`;
  const why = item.error === null ? '' : `: ${item.error}`;
  return `${item.instance}: ${item.outcome}${where}${why}`;
}

export async function evacuateCommand(config: FerryConfig, args: string[]): Promise<string> {
  const { values, positionals } = parseCommand(EVACUATE, args);
  if (positionals.length !== 1) throw usageError(EVACUATE);
  return withClients(config, async (db, client) => {
    const started = await startEvacuation(db, client, config, {
      instance: positionals[0],
      host: values.host,
      requestedBy: 'cli',
    });
    if (!values.wait) {
      return values.json
        ? JSON.stringify(started)
        : `evacuation ${started.migrationUuid} of ${started.instanceName} from ${started.sourceHost} accepted (workflow ${started.workflowId})`;
    }
    const ended = await evacuationEnd(client, started);
    if (ended.outcome !== 'done') throw new Error(describe(ended));
    return values.json ? JSON.stringify(ended) : describe(ended);
  });
}

function concurrency(text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) {
    throw new UsageError(`--concurrency: "${text}" is not a whole number of at least 1`);
  }
  return value;
}

export async function hostsEvacuateCommand(config: FerryConfig, args: string[]): Promise<string> {
  const { values, positionals } = parseCommand(HOSTS_EVACUATE, args);
  if (positionals.length !== 1) throw usageError(HOSTS_EVACUATE);
  const atOnce = concurrency(values.concurrency, config.maxConcurrentLiveMigrations);
  return withClients(config, async (db, client) => {
    const items = await evacuateHost(db, client, config, {
      host: positionals[0],
      concurrency: atOnce,
      wait: values.wait,
      requestedBy: 'cli',
    });
    if (values.json) return JSON.stringify(items);
    return formatTable(items, [
      { header: 'INSTANCE', value: (item) => item.instance },
      { header: 'OUTCOME', value: (item) => item.outcome },
      { header: 'DESTINATION', value: (item) => item.destHost },
      { header: 'MIGRATION', value: (item) => item.migrationUuid },
      { header: 'ERROR', value: (item) => item.error },
    ]);
  });
}
