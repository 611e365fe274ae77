/**
 * Where the time ferry adds to a live migration goes: migrations one at a time on the sim stack of
 * bench/orchestration.ts, each one's history read back and cut into segments by its events' times.
 *
 *   `node dist/bench/migration-profile.js [--migrations 40] [--hosts 10] [--pause-ms 500]`
 *
 * Per segment, the median over the migrations, in ms: `start` (the request until the workflow
 * started: the start helper's row and the start call), each workflow task's wait in its queue and
 * its run (which holds the local activities it ran), each activity's dispatch (scheduled until an
 * agent started it) and run, and `result` (the workflow's completion until the caller had it).
 * The migration job's own time (the sim's) is taken out of `liveMigrate`'s run, as
 * bench:orchestration takes it out of `addedMs`. Progress on stderr, the result last on stdout.
 */
import { parseArgs } from 'node:util';
import type { temporal } from '@temporalio/proto';
import { startLiveMigration } from '../client/start-live-migration';
import { setTimeout as sleep } from 'node:timers/promises';
import { median } from '../test/support/statistics';
import { log, positiveNumber } from './measure';
import { withSimStack, type SimStack } from './sim-stack';

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

const ms = (event: HistoryEvent): number => {
  const time = event.eventTime;
  return Number(time?.seconds ?? 0) * 1000 + (time?.nanos ?? 0) / 1e6;
};

/** One migration's segments, name → ms; a name seen twice (a second workflow task) adds up. */
type Segments = Map<string, number>;

function add(segments: Segments, name: string, value: number): void {
  segments.set(name, (segments.get(name) ?? 0) + value);
}

/** Cuts a history into segments: workflow tasks by what woke them, activities by type. */
export function segmentsOf(events: HistoryEvent[], hostMs: number): Segments {
  const segments: Segments = new Map();
  const byId = new Map(events.map((event) => [Number(event.eventId), event]));
  let wokenBy = 'start';
  let task = 0;
  for (const event of events) {
    const scheduled = event.activityTaskScheduledEventAttributes;
    if (scheduled) wokenBy = scheduled.activityType?.name ?? 'activity';
    const started = event.activityTaskStartedEventAttributes;
    if (started) {
      const at = byId.get(Number(started.scheduledEventId));
      const name = at?.activityTaskScheduledEventAttributes?.activityType?.name ?? 'activity';
      add(segments, `dispatch ${name}`, ms(event) - ms(at ?? event));
    }
    const completed = event.activityTaskCompletedEventAttributes;
    if (completed) {
      const at = byId.get(Number(completed.startedEventId));
      const name = byId.get(Number(completed.scheduledEventId))
        ?.activityTaskScheduledEventAttributes?.activityType?.name;
      const own = name === 'liveMigrate' ? hostMs : 0;
      add(segments, `run ${name ?? 'activity'}`, ms(event) - ms(at ?? event) - own);
      wokenBy = name ?? 'activity';
    }
    if (event.workflowExecutionSignaledEventAttributes) wokenBy = 'signal';
    const taskStarted = event.workflowTaskStartedEventAttributes;
    if (taskStarted) {
      task += 1;
      const at = byId.get(Number(taskStarted.scheduledEventId)) ?? event;
      add(segments, `workflow task ${task} wait (after ${wokenBy})`, ms(event) - ms(at));
    }
    const taskCompleted = event.workflowTaskCompletedEventAttributes;
    if (taskCompleted) {
      const at = byId.get(Number(taskCompleted.startedEventId)) ?? event;
      add(segments, `workflow task ${task} run (after ${wokenBy})`, ms(event) - ms(at));
    }
  }
  return segments;
}

async function profileOne(stack: SimStack, name: string): Promise<Segments> {
  const requestedAt = Date.now();
  const started = await startLiveMigration(stack.db, stack.client, {
    instance: name,
    blockMigration: 'auto',
    requestedBy: 'bench',
  });
  const handle = stack.client.workflow.getHandle(started.workflowId);
  const state = (await handle.result()) as { status: string };
  const completedAt = Date.now();
  if (state.status !== 'completed') throw new Error(`${name}: the migration ended ${state.status}`);
  const hostMs = stack.fleet.takeHostTime(started.instanceUuid);
  const events = (await handle.fetchHistory()).events ?? [];
  const segments = segmentsOf(events, hostMs);
  segments.set('start', ms(events[0]) - requestedAt);
  segments.set('result', completedAt - ms(events[events.length - 1]));
  segments.set('added', completedAt - requestedAt - hostMs);
  return segments;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      migrations: { type: 'string', default: '40' },
      hosts: { type: 'string', default: '10' },
      'pause-ms': { type: 'string', default: '500' },
    },
  });
  const migrations = positiveNumber('migrations', values.migrations);
  const hosts = positiveNumber('hosts', values.hosts);
  const pauseMs = positiveNumber('pause-ms', values['pause-ms']);
  const profiles = await withSimStack(
    { hosts, instances: migrations + 1, database: 'postgresql' },
    async (stack) => {
      const names = stack.instances.map((instance) => instance.name);
      await profileOne(stack, names[0]);
      const all: Segments[] = [];
      for (const name of names.slice(1)) {
        all.push(await profileOne(stack, name));
        await sleep(pauseMs);
        if (all.length % 10 === 0) log(`${all.length} of ${migrations} migrations`);
      }
      return all;
    },
  );
  const names = [...new Set(profiles.flatMap((segments) => [...segments.keys()]))];
  const result = Object.fromEntries(
    names.map((name) => [
      name,
      Math.round(10 * median(profiles.map((segments) => segments.get(name) ?? 0))) / 10,
    ]),
  );
  process.stdout.write(`${JSON.stringify({ migrations, hosts, medianMs: result }, null, 2)}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`migration profile: ${String(error)}\n`);
  process.exit(1);
});
