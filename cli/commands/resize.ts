import { setTimeout as sleep } from 'node:timers/promises';
import type { Client } from '@temporalio/client';
import { openDatabase } from '../../db/database';
import type { FerryConfig } from '../../config';
import { resizeStatusQuery } from '../../workflows/resize-messages';
import type { ResizeState } from '../../workflows/resize-contract';
import { decideResize } from '../../client/resize-decisions';
import { startResize } from '../../client/start-resize';
import { progressWriter } from '../progress-line';
import { connectTemporal } from '../../temporal/client';
import { parseCommand, usageError } from '../command-spec';
import { CONFIRM, MIGRATE, RESIZE, REVERT } from './moves-spec';

export type ResizeCommand = 'migrate' | 'resize' | 'confirm' | 'revert';

const SETTLED = ['finished', 'confirmed', 'reverted', 'error'];

export function describeResize(state: ResizeState): string {
  const where = `${state.sourceHost} → ${state.destHost ?? '?'}`;
  const copied =
    state.totalBytes !== null && state.copiedBytes !== null
      ? ` (${Math.round(state.copiedBytes / 1048576)} of ${Math.round(state.totalBytes / 1048576)} MiB copied)`
      : '';
  const deadline = state.confirmDeadline ? `, auto-confirm at ${state.confirmDeadline}` : '';
  const error = state.error ? `: ${state.error}` : '';
  return `${state.instanceName} ${where}: ${state.status} [${state.step}]${copied}${deadline}${error}`;
}

/** Follows a resize until it waits in VERIFY_RESIZE, or ends; prints each change unless json. */
async function waitForResize(client: Client, workflowId: string, json: boolean) {
  const handle = client.workflow.getHandle(workflowId);
  const progress = progressWriter();
  let last = '';
  try {
    for (;;) {
      const state = await handle.query(resizeStatusQuery).catch(async () => {
        const closed = await handle.describe();
        throw new Error(
          `the resize workflow ended (${closed.status.name}) before reaching VERIFY_RESIZE`,
        );
      });
      const line = describeResize(state);
      if (!json && line !== last) {
        const { copiedBytes: done, totalBytes: total } = state;
        const percent = done !== null && total ? (100 * done) / total : null;
        progress.show({ line, percent, done, total });
      }
      last = line;
      if (SETTLED.includes(state.status)) {
        if (state.status === 'error') throw new Error(state.error ?? 'the resize failed');
        return state;
      }
      await sleep(1000);
    }
  } finally {
    progress.end();
  }
}

/** `ferry confirm|revert INSTANCE`: the decision a resize in VERIFY_RESIZE waits for. */
async function decide(
  config: FerryConfig,
  command: 'confirm' | 'revert',
  args: string[],
): Promise<string> {
  const spec = command === 'confirm' ? CONFIRM : REVERT;
  const { values, positionals } = parseCommand(spec, args);
  if (positionals.length !== 1) throw usageError(spec);
  const db = await openDatabase(config.databaseUrl);
  const client = await connectTemporal(config);
  try {
    const state = await decideResize(db, client, positionals[0], command);
    return values.json ? JSON.stringify(state) : describeResize(state);
  } finally {
    await client.connection.close();
    await db.$disconnect();
  }
}

export async function resizeCommand(
  config: FerryConfig,
  command: ResizeCommand,
  args: string[],
): Promise<string> {
  if (command === 'confirm' || command === 'revert') return decide(config, command, args);
  const spec = command === 'resize' ? RESIZE : MIGRATE;
  const { values, positionals } =
    command === 'resize' ? parseCommand(RESIZE, args) : parseCommand(MIGRATE, args);
  const flavor = 'flavor' in values ? values.flavor : undefined;
  const host = 'host' in values ? values.host : undefined;
  if (positionals.length !== 1 || (command === 'resize' && flavor === undefined)) {
    throw usageError(spec);
  }
  const db = await openDatabase(config.databaseUrl);
  const client = await connectTemporal(config);
  try {
    const started = await startResize(db, client, config, {
      instance: positionals[0],
      flavor,
      host,
      requestedBy: 'cli',
    });
    if (values.wait) {
      const state = await waitForResize(client, started.workflowId, values.json);
      return values.json
        ? JSON.stringify(state)
        : `${state.instanceName} is in VERIFY_RESIZE on ${state.destHost}: ferry confirm or ferry revert`;
    }
    return values.json
      ? JSON.stringify(started)
      : `${command === 'resize' ? 'resize' : 'cold migration'} ${started.migrationUuid} of ${started.instanceName} from ${started.sourceHost} accepted (workflow ${started.workflowId})`;
  } finally {
    await client.connection.close();
    await db.$disconnect();
  }
}
