/**
 * `ferry hosts drain|undrain` and `ferry drains list|show` (docs/drain.md): a host emptied by one
 * durable workflow, its plan, progress and outcome.
 */
import { openDatabase } from '../../db/database';
import type { FerryConfig } from '../../config';
import {
  abortDrain,
  drainCounts,
  listDrains,
  parseDuration,
  planHostDrain,
  showDrain,
  startDrain,
  undrainHost,
  watchDrain,
  type DrainView,
} from '../../client/drain';
import type { DrainItem, DrainState } from '../../workflows/drain-contract';
import { connectTemporal } from '../../temporal/client';
import { parseCommand, usageError } from '../command-spec';
import { groupUsageError } from '../command-list';
import { progressWriter } from '../progress-line';
import { formatTable } from '../table';
import { UsageError } from '../usage-error';
import { withClients } from '../with-clients';
import { DRAINS_LIST, DRAINS_SHOW, HOSTS_DRAIN, HOSTS_UNDRAIN } from './drains-spec';

function positiveInteger(option: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) {
    throw new UsageError(`--${option}: "${text}" is not a whole number of at least 1`);
  }
  return value;
}

function itemsTable(items: Omit<DrainItem, 'requestedHost'>[], destination = 'DESTINATION') {
  return formatTable(items, [
    { header: 'INSTANCE', value: (item) => item.instanceName },
    { header: 'ACTION', value: (item) => item.action },
    { header: 'STATE', value: (item) => item.state },
    { header: 'ATTEMPTS', value: (item) => item.attempts },
    { header: destination, value: (item) => item.destHost },
    { header: 'REASON', value: (item) => item.reason },
  ]);
}

/** moved, moving, queued, failed, left: the line `--wait` redraws. */
export function describeDrainProgress(state: {
  host: string;
  status: string;
  items: Pick<DrainItem, 'state'>[];
}): string {
  const counts = drainCounts(state.items);
  return `drain of ${state.host}: ${state.status}: ${counts.moved} moved, ${counts.moving} moving, ${counts.queued + counts.planned} queued, ${counts.failed} failed, ${counts.left} left`;
}

async function waitForDrain(
  client: Awaited<ReturnType<typeof connectTemporal>>,
  drain: DrainView,
  json: boolean,
): Promise<string> {
  const progress = progressWriter();
  const ended = new Map<string, string>();
  const onChange = (state: DrainState) => {
    if (json) return;
    for (const item of state.items) {
      if (!['moved', 'failed', 'left'].includes(item.state) || ended.has(item.instanceUuid))
        continue;
      const end = `${item.instanceName}: ${item.state}${item.destHost && item.state === 'moved' ? ` to ${item.destHost}` : ''}${item.reason ? ` (${item.reason})` : ''}`;
      ended.set(item.instanceUuid, end);
      progress.end();
      process.stdout.write(`${end}\n`);
    }
    const total = state.items.length;
    const done = state.items.filter((item) => ['moved', 'failed', 'left'].includes(item.state));
    progress.show({
      line: describeDrainProgress(state),
      percent: total === 0 ? 100 : (done.length / total) * 100,
      done: null,
      total: null,
    });
  };
  const final = await watchDrain(client, drain, onChange).finally(() => progress.end());
  return json ? JSON.stringify(final) : describeDrainProgress(final);
}

/** `hosts drain NAME ...` */
export async function drainCommand(config: FerryConfig, args: string[]): Promise<string> {
  const { values, positionals } = parseCommand(HOSTS_DRAIN, args);
  if (positionals.length !== 1) throw usageError(HOSTS_DRAIN);
  const host = positionals[0];
  if (values.abort && values['dry-run']) {
    throw new UsageError('--abort and --dry-run: choose one');
  }
  const request = {
    host,
    concurrency: positiveInteger('concurrency', values.concurrency),
    attempts: positiveInteger('attempts', values.attempts),
    deadlineSeconds:
      values.deadline === undefined ? undefined : parseDuration('--deadline', values.deadline),
    exclude: values.exclude,
    requestedBy: 'cli',
  };
  return withClients(config, async (db, client) => {
    if (values.abort) {
      const aborted = await abortDrain(db, client, host);
      return values.json
        ? JSON.stringify(aborted)
        : `abort of drain ${aborted.id} of ${aborted.host} requested: moves not started are dropped, moves in flight roll back`;
    }
    if (values['dry-run']) {
      const plan = await planHostDrain(db, client, request);
      return values.json
        ? JSON.stringify(plan)
        : `drain plan of ${host} (dry run, nothing changed):\n${itemsTable(plan, 'WOULD GO TO')}`;
    }
    const drain = await startDrain(db, client, config, request);
    if (values.wait) return waitForDrain(client, drain, values.json);
    return values.json
      ? JSON.stringify(drain)
      : `drain ${drain.id} of ${drain.host} started: the host is disabled (workflow ${drain.workflowId})`;
  });
}

/** `hosts undrain NAME [--return] [--wait]` */
export async function undrainCommand(config: FerryConfig, args: string[]): Promise<string> {
  const { values, positionals } = parseCommand(HOSTS_UNDRAIN, args);
  if (positionals.length !== 1) throw usageError(HOSTS_UNDRAIN);
  return withClients(config, async (db, client) => {
    const undrained = await undrainHost(db, client, config, {
      host: positionals[0],
      moveBack: values.return,
      concurrency: positiveInteger('concurrency', values.concurrency),
      requestedBy: 'cli',
    });
    if (undrained.drain && values.wait) return waitForDrain(client, undrained.drain, values.json);
    if (values.json) return JSON.stringify(undrained);
    return undrained.drain
      ? `host ${undrained.host} enabled; return ${undrained.drain.id} moves its drained instances back (workflow ${undrained.drain.workflowId})`
      : `host ${undrained.host} enabled`;
  });
}

/** `drains list [--json]` */
async function listDrainsCommand(config: FerryConfig, args: string[]): Promise<string> {
  const { values } = parseCommand(DRAINS_LIST, args);
  const db = await openDatabase(config.databaseUrl);
  try {
    const drains = await listDrains(db);
    if (values.json) return JSON.stringify(drains);
    return formatTable(drains, [
      { header: 'ID', value: (d) => d.id },
      { header: 'HOST', value: (d) => d.host },
      { header: 'KIND', value: (d) => d.kind },
      { header: 'STATUS', value: (d) => d.status },
      { header: 'MOVED', value: (d) => d.counts.moved },
      { header: 'FAILED', value: (d) => d.counts.failed },
      { header: 'LEFT', value: (d) => d.counts.left },
      { header: 'STARTED', value: (d) => d.createdAt },
      { header: 'FINISHED', value: (d) => d.finishedAt },
    ]);
  } finally {
    await db.$disconnect();
  }
}

/** `drains show NAME|ID [--json]` */
async function showDrainCommand(config: FerryConfig, args: string[]): Promise<string> {
  const { values, positionals } = parseCommand(DRAINS_SHOW, args);
  if (positionals.length !== 1) throw usageError(DRAINS_SHOW);
  return withClients(config, async (db, client) => {
    const drain = await showDrain(db, client, positionals[0]);
    if (values.json) return JSON.stringify(drain);
    const head = `drain ${drain.id} (${drain.kind}) of ${drain.host}: ${drain.status}, concurrency ${drain.concurrency}, attempts ${drain.attempts}${drain.deadline ? `, deadline ${drain.deadline}` : ''}`;
    return `${head}\n${describeDrainProgress(drain)}\n${itemsTable(drain.items)}`;
  });
}

export async function drainsCommand(config: FerryConfig, args: string[]): Promise<string> {
  const [sub, ...rest] = args;
  if (sub === 'list') return listDrainsCommand(config, rest);
  if (sub === 'show') return showDrainCommand(config, rest);
  throw groupUsageError('drains');
}
