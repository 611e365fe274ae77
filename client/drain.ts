/**
 * Host drains for the CLI and the API (docs/drain.md): the dry-run plan, starting a drain or a
 * return, aborting one, and what a drain did. Each drain is the hostDrain workflow `drain-<host>`.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  WorkflowExecutionAlreadyStartedError,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  type Client,
} from '@temporalio/client';
import type { Database } from '../db/database';
import { serviceState } from '../db/host-liveness';
import type { Drain, DrainItem as DrainItemRow, Host } from '../db/models';
import type { FerryConfig } from '../config';
import {
  drainWorkflowId,
  type DrainInput,
  type DrainItem,
  type DrainItemState,
  type DrainState,
} from '../workflows/drain-contract';
import { drainAbortUpdate, drainStatusQuery } from '../workflows/drain-messages';
import { FerryOperation, FerrySourceHost, FerryStatus } from '../workflows/search-attributes';
import { CONTROL_TASK_QUEUE } from '../workflows/task-queues';
import { RequestError } from './request-error';

export interface DrainRequest {
  host: string;
  /** At most this many moves at once; undefined: max_concurrent_live_migrations. */
  concurrency?: number;
  /** Seconds from now after which no move starts. */
  deadlineSeconds?: number;
  attempts?: number;
  /** Instance names or UUIDs to leave on the host. */
  exclude?: string[];
  requestedBy: string;
}

/** What `drains show` and the API answer for a drain. */
export interface DrainView {
  id: number;
  uuid: string;
  host: string;
  kind: string;
  status: string;
  concurrency: number;
  attempts: number;
  deadline: string | null;
  exclude: string[];
  workflowId: string;
  requestedBy: string | null;
  createdAt: string;
  finishedAt: string | null;
  returnedAt: string | null;
  counts: Record<DrainItemState, number>;
  items: Omit<DrainItem, 'requestedHost'>[];
}

export const DEFAULT_DRAIN_ATTEMPTS = 3;

const STATES: DrainItemState[] = ['planned', 'queued', 'moving', 'moved', 'failed', 'left'];

/** How many items are in each state. */
export function drainCounts(items: Pick<DrainItem, 'state'>[]): Record<DrainItemState, number> {
  const counts = Object.fromEntries(STATES.map((state) => [state, 0])) as Record<
    DrainItemState,
    number
  >;
  for (const item of items) counts[item.state] += 1;
  return counts;
}

async function drainableHost(db: Database, name: string): Promise<Host> {
  const host = await db.host.findUnique({ where: { name } });
  if (!host)
    throw new RequestError('ComputeHostNotFound', 404, `compute host ${name} could not be found`);
  return host;
}

/** Every name in `exclude` must be an instance on the host: a typo must not move what it meant. */
async function checkExclude(db: Database, host: string, exclude: string[]): Promise<void> {
  if (exclude.length === 0) return;
  const found = await db.instance.findMany({
    where: { hostName: host, OR: [{ uuid: { in: exclude } }, { name: { in: exclude } }] },
  });
  const unknown = exclude.filter((x) => !found.some((i) => i.uuid === x || i.name === x));
  if (unknown.length > 0) {
    throw new RequestError(
      'InvalidInput',
      400,
      `exclude: ${unknown.join(', ')} ${unknown.length === 1 ? 'is not an instance' : 'are not instances'} on host ${host}`,
    );
  }
}

/** The dry run: the plan and where the scheduler would put each instance now; changes nothing. */
export async function planHostDrain(
  db: Database,
  client: Client,
  request: { host: string; exclude?: string[] },
): Promise<DrainItem[]> {
  const host = await drainableHost(db, request.host);
  const exclude = request.exclude ?? [];
  await checkExclude(db, host.name, exclude);
  return client.workflow.execute('hostDrainPlan', {
    taskQueue: CONTROL_TASK_QUEUE,
    workflowId: `drain-plan-${host.name}-${randomUUID()}`,
    args: [{ host: host.name, exclude }],
  });
}

/** Records the Drain row and starts its workflow; a drain or return already running is a 409. */
async function startDrainWorkflow(
  db: Database,
  client: Client,
  input: DrainInput,
  concurrencyShown: number,
): Promise<DrainView> {
  const workflowId = drainWorkflowId(input.host);
  const row = await db.drain.create({
    data: {
      uuid: input.drainUuid,
      host: input.host,
      status: 'running',
      kind: input.kind,
      concurrency: input.concurrency ?? concurrencyShown,
      attempts: input.attempts,
      deadline: input.deadline === null ? null : new Date(input.deadline),
      exclude: JSON.stringify(input.exclude),
      workflowId,
      requestedBy: input.requestedBy,
    },
  });
  try {
    await client.workflow.start('hostDrain', {
      taskQueue: CONTROL_TASK_QUEUE,
      workflowId,
      args: [input],
      workflowIdConflictPolicy: 'FAIL',
      workflowIdReusePolicy: 'ALLOW_DUPLICATE',
      memo: { drainUuid: input.drainUuid },
      typedSearchAttributes: [
        { key: FerryOperation, value: input.kind === 'drain' ? 'drain' : 'undrain' },
        { key: FerrySourceHost, value: input.host },
        { key: FerryStatus, value: 'running' },
      ],
    });
  } catch (error) {
    await db.drain.delete({ where: { id: row.id } });
    if (error instanceof WorkflowExecutionAlreadyStartedError) {
      throw new RequestError(
        'HostDrainInProgress',
        409,
        `host ${input.host} has a drain or return in progress (workflow ${workflowId}): abort it or wait for it`,
      );
    }
    throw error;
  }
  return view(row, []);
}

/** Starts the drain of a host: disabled at once, its instances moved off by the workflow. */
export async function startDrain(
  db: Database,
  client: Client,
  config: Pick<FerryConfig, 'maxConcurrentLiveMigrations'>,
  request: DrainRequest,
): Promise<DrainView> {
  const host = await drainableHost(db, request.host);
  if (serviceState(host) === 'down') {
    throw new RequestError(
      'ComputeServiceUnavailable',
      409,
      `host ${host.name} is down: its agent cannot take part in moving its instances`,
    );
  }
  const exclude = request.exclude ?? [];
  await checkExclude(db, host.name, exclude);
  const deadline =
    request.deadlineSeconds === undefined
      ? null
      : new Date(Date.now() + request.deadlineSeconds * 1000).toISOString();
  return startDrainWorkflow(
    db,
    client,
    {
      drainUuid: randomUUID(),
      host: host.name,
      kind: 'drain',
      concurrency: request.concurrency ?? null,
      attempts: request.attempts ?? DEFAULT_DRAIN_ATTEMPTS,
      deadline,
      exclude,
      requestedBy: request.requestedBy,
    },
    config.maxConcurrentLiveMigrations,
  );
}

/**
 * Re-enables a host; with `moveBack`, starts the return of the instances its last drain moved that
 * are still where it put them (the workflow enables the host first). Refused while a drain runs.
 */
export async function undrainHost(
  db: Database,
  client: Client,
  config: Pick<FerryConfig, 'maxConcurrentLiveMigrations'>,
  request: { host: string; moveBack: boolean; concurrency?: number; requestedBy: string },
): Promise<{ host: string; enabled: boolean; drain: DrainView | null }> {
  const host = await drainableHost(db, request.host);
  const latest = await db.drain.findFirst({ where: { host: host.name }, orderBy: { id: 'desc' } });
  const running = latest ? await findDrain(db, client, String(latest.id)) : null;
  if (running?.status === 'running') {
    throw new RequestError(
      'HostDrainInProgress',
      409,
      `host ${host.name} has drain ${running.id} running: abort it first (ferry hosts drain ${host.name} --abort)`,
    );
  }
  if (serviceState(host) === 'down') {
    throw new RequestError('ComputeServiceUnavailable', 409, `host ${host.name} is down`);
  }
  if (!request.moveBack) {
    if (host.state === 'disabled') {
      await db.host.update({
        where: { name: host.name },
        data: { state: 'up', disabledReason: null },
      });
    }
    return { host: host.name, enabled: true, drain: null };
  }
  const drain = await startDrainWorkflow(
    db,
    client,
    {
      drainUuid: randomUUID(),
      host: host.name,
      kind: 'return',
      concurrency: request.concurrency ?? null,
      attempts: DEFAULT_DRAIN_ATTEMPTS,
      deadline: null,
      exclude: [],
      requestedBy: request.requestedBy,
    },
    config.maxConcurrentLiveMigrations,
  );
  return { host: host.name, enabled: true, drain };
}

/**
 * A drain by id, UUID, or host name (its latest). A row still `running` whose workflow is gone
 * (terminated, or failed without reaching its end) is recorded as aborted, so it blocks nothing.
 */
async function findDrain(db: Database, client: Client, ref: string) {
  const drain = await findDrainRow(db, ref);
  if (drain.status !== 'running' || (await workflowRuns(client, drain.workflowId, drain.uuid))) {
    return drain;
  }
  const ended = await db.drain.update({
    where: { id: drain.id },
    data: { status: 'aborted', finishedAt: new Date() },
    include: { items: { orderBy: { instanceName: 'asc' } } },
  });
  return ended;
}

/** Whether the drain `uuid`'s workflow (any of its runs) is running. */
async function workflowRuns(client: Client, workflowId: string, uuid: string): Promise<boolean> {
  try {
    const handle = client.workflow.getHandle(workflowId);
    const { status, memo } = await handle.describe();
    return status.name === 'RUNNING' && memo?.drainUuid === uuid;
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) return false;
    throw error;
  }
}

async function findDrainRow(db: Database, ref: string) {
  const include = { items: { orderBy: { instanceName: 'asc' as const } } };
  const byId = /^\d+$/.test(ref)
    ? await db.drain.findUnique({ where: { id: Number(ref) }, include })
    : null;
  const drain =
    byId ??
    (await db.drain.findUnique({ where: { uuid: ref }, include })) ??
    (await db.drain.findFirst({ where: { host: ref }, orderBy: { id: 'desc' }, include }));
  if (!drain) throw new RequestError('DrainNotFound', 404, `drain ${ref} could not be found`);
  return drain;
}

function view(row: Drain, items: DrainView['items']): DrainView {
  return {
    id: row.id,
    uuid: row.uuid,
    host: row.host,
    kind: row.kind,
    status: row.status,
    concurrency: row.concurrency,
    attempts: row.attempts,
    deadline: row.deadline?.toISOString() ?? null,
    exclude: JSON.parse(row.exclude) as string[],
    workflowId: row.workflowId,
    requestedBy: row.requestedBy,
    createdAt: row.createdAt.toISOString(),
    finishedAt: row.finishedAt?.toISOString() ?? null,
    returnedAt: row.returnedAt?.toISOString() ?? null,
    counts: drainCounts(items),
    items,
  };
}

function itemView(item: DrainItemRow | DrainItem): DrainView['items'][number] {
  return {
    instanceUuid: item.instanceUuid,
    instanceName: item.instanceName,
    action: item.action as DrainItem['action'],
    state: item.state as DrainItemState,
    reason: item.reason,
    attempts: item.attempts,
    destHost: item.destHost,
    lastMigrationUuid: item.lastMigrationUuid,
  };
}

/** The drains, newest first, with their counts (no items). */
export async function listDrains(db: Database): Promise<DrainView[]> {
  const rows = await db.drain.findMany({
    orderBy: { id: 'desc' },
    include: { items: { select: { state: true } } },
  });
  return rows.map((row) => ({ ...view(row, []), counts: drainCounts(row.items as DrainItem[]) }));
}

/**
 * A drain and its items: a running one as its workflow sees it now (queued and moving are not
 * written to the database), a finished one as recorded.
 */
export async function showDrain(db: Database, client: Client, ref: string): Promise<DrainView> {
  const row = await findDrain(db, client, ref);
  if (row.status === 'running') {
    const live = await queryDrain(client, row);
    if (live) return { ...view(row, live.items.map(itemView)), concurrency: live.concurrency };
  }
  return view(row, row.items.map(itemView));
}

async function queryDrain(client: Client, row: Drain): Promise<DrainState | undefined> {
  try {
    const state = await client.workflow.getHandle(row.workflowId).query(drainStatusQuery);
    return state.drainUuid === row.uuid ? state : undefined;
  } catch {
    return undefined;
  }
}

/** Aborts a running drain (by id, UUID or host); 409 when it is not running. */
export async function abortDrain(db: Database, client: Client, ref: string): Promise<DrainView> {
  const row = await findDrain(db, client, ref);
  const notRunning = (why: string) =>
    new RequestError('InvalidState', 409, `drain ${row.id} of ${row.host} ${why}`);
  if (row.status !== 'running') throw notRunning(`is ${row.status}, not running`);
  try {
    const state = await client.workflow.getHandle(row.workflowId).executeUpdate(drainAbortUpdate);
    return { ...view(row, state.items.map(itemView)), concurrency: state.concurrency };
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) throw notRunning('has no workflow running');
    if (error instanceof WorkflowUpdateFailedError) {
      throw notRunning(`cannot be aborted: ${error.cause?.message ?? error.message}`);
    }
    throw error;
  }
}

/**
 * Follows a drain to its end, calling `onChange` with its state whenever an item's state changes
 * (queried every `intervalMs`); resolves with the final state.
 */
export async function watchDrain(
  client: Client,
  drain: Pick<DrainView, 'uuid' | 'workflowId'>,
  onChange: (state: DrainState) => void,
  intervalMs = 1000,
): Promise<DrainState> {
  const handle = client.workflow.getHandle(drain.workflowId);
  let last = '';
  const report = (state: DrainState) => {
    const key = JSON.stringify([state.status, state.items.map((item) => item.state)]);
    if (key !== last) onChange(state);
    last = key;
  };
  for (;;) {
    const { status } = await handle.describe();
    if (status.name !== 'RUNNING' && status.name !== 'CONTINUED_AS_NEW') {
      const final = (await handle.result()) as DrainState;
      report(final);
      return final;
    }
    const state = await handle.query(drainStatusQuery).catch(() => undefined);
    if (state?.drainUuid === drain.uuid) report(state);
    await sleep(intervalMs);
  }
}

/** Seconds of a duration such as 90s, 30m, 2h or 1h30m (a bare number is seconds). */
export function parseDuration(field: string, text: string): number {
  const match = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s?)?$/.exec(text.trim());
  const seconds = match
    ? Number(match[1] ?? 0) * 3600 + Number(match[2] ?? 0) * 60 + Number(match[3] ?? 0)
    : 0;
  if (!match || seconds <= 0) {
    throw new RequestError(
      'InvalidInput',
      400,
      `${field}: "${text}" is not a duration such as 90s, 30m, 2h or 1h30m`,
    );
  }
  return seconds;
}
