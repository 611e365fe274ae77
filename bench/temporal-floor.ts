/**
 * Temporal's own floor for ferry's orchestration: workflows of a live migration's shape
 * with no work in them, on the same server and process layout as bench/orchestration.ts (a dev
 * server with persistent SQLite, the workflow worker a process of its own, one worker per host
 * queue in this process). The shape is read from a recorded live migration
 * (test/fixtures/histories/live-migration-completed.json): its local activities and its
 * activities on the source's and the destination's queues, in order; its search-attribute
 * upserts and progress signals are left out, so the floor is if anything too low.
 * Burst (all at once, 50 in flight) gives workflowsPerSecond; paced at `--rate` per second gives
 * p50Ms/p95Ms, the whole time of a workflow that does nothing. Medians over `--runs`.
 * `npm run bench:floor -- [--json] [--runs N] [--hosts N] [--workflows N] [--rate R]`.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { freePort } from '../test/support/free-port';
import { projectRoot } from '../config/project-root';
import { startDevServer } from '../temporal/dev-server';
import { floorActivities } from '../test/support/floor-activities';
import type { FloorStep } from '../test/support/floor-workflow';
import { median, percentile } from '../test/support/statistics';
import { Cleanups, log, positiveNumber, runAll, stopChild } from './measure';

const TASK_QUEUE = 'floor';
const BURST_CONCURRENCY = 50;
const RECORDED = join('test', 'fixtures', 'histories', 'live-migration-completed.json');

interface HistoryEvent {
  eventType: string;
  activityTaskScheduledEventAttributes?: { taskQueue: { name: string } };
}

/** The recorded migration's steps: 'local', or the index of the host (0 source, 1 destination). */
function recordedShape(): ('local' | number)[] {
  const { events } = JSON.parse(readFileSync(join(projectRoot(), RECORDED), 'utf8')) as {
    events: HistoryEvent[];
  };
  const queues: string[] = [];
  const shape: ('local' | number)[] = [];
  for (const event of events) {
    if (event.eventType === 'EVENT_TYPE_MARKER_RECORDED') shape.push('local');
    const scheduled = event.activityTaskScheduledEventAttributes;
    if (scheduled) {
      if (!queues.includes(scheduled.taskQueue.name)) queues.push(scheduled.taskQueue.name);
      shape.push(queues.indexOf(scheduled.taskQueue.name));
    }
  }
  return shape;
}

const hostQueue = (i: number) => `floor-host-${String(i).padStart(3, '0')}`;

interface Options {
  runs: number;
  hosts: number;
  workflows: number;
  rate: number;
}

interface RunResult {
  workflowsPerSecond: number;
  p50Ms: number;
  p95Ms: number;
}

async function benchRun(options: Options, run: number): Promise<RunResult> {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-bench-floor-'));
  const cleanups = new Cleanups();
  cleanups.add(async () => rmSync(dir, { recursive: true }));
  try {
    const server = await startDevServer({
      ip: '127.0.0.1',
      port: await freePort(),
      namespace: 'default',
      dbFilename: join(dir, 'temporal.db'),
      logFile: join(dir, 'temporal.log'),
    });
    cleanups.add(() => server.stop());
    const workflowWorker = spawn(process.execPath, [join(__dirname, 'floor-worker.js')], {
      env: { ...process.env, FLOOR_TEMPORAL_ADDRESS: server.address, FLOOR_TASK_QUEUE: TASK_QUEUE },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    cleanups.add(() => stopChild(workflowWorker));
    const connection = await NativeConnection.connect({ address: server.address });
    cleanups.add(() => connection.close());
    const hostWorkers = await Promise.all(
      Array.from({ length: options.hosts }, (_, i) =>
        Worker.create({
          connection,
          taskQueue: hostQueue(i),
          maxConcurrentActivityTaskPolls: 1,
          activities: floorActivities,
        }),
      ),
    );
    const running = hostWorkers.map((worker) => worker.run());
    cleanups.add(async () => {
      hostWorkers.forEach((worker) => worker.shutdown());
      await Promise.all(running);
    });
    const client = new Client({
      connection: await Connection.connect({ address: server.address }),
    });
    cleanups.add(() => client.connection.close());

    const shape = recordedShape();
    const one = async (i: number) => {
      const hosts = [hostQueue(i % options.hosts), hostQueue((i + 1) % options.hosts)];
      const steps: FloorStep[] = shape.map((step) =>
        step === 'local' ? { kind: 'local' } : { kind: 'remote', taskQueue: hosts[step] },
      );
      const startedAt = performance.now();
      await client.workflow.execute('floorWorkflow', {
        taskQueue: TASK_QUEUE,
        workflowId: `floor-${run}-${i}-${Math.round(startedAt)}`,
        args: [steps],
      });
      return { startedAt, endedAt: performance.now() };
    };
    const indexes = Array.from({ length: options.workflows }, (_, i) => i);
    await one(0);
    const burst = await runAll(indexes, one, { concurrency: BURST_CONCURRENCY });
    const first = Math.min(...burst.map((o) => o.startedAt));
    const last = Math.max(...burst.map((o) => o.endedAt));
    const paced = await runAll(indexes, one, { rate: options.rate });
    const took = paced.map((o) => o.endedAt - o.startedAt);
    const result = {
      workflowsPerSecond: Math.round((10_000 * burst.length) / (last - first)) / 10,
      p50Ms: Math.round(percentile(took, 50)),
      p95Ms: Math.round(percentile(took, 95)),
    };
    log(`run ${run}: ${JSON.stringify(result)}`);
    return result;
  } finally {
    await cleanups.run();
  }
}

function parseOptions(): Options & { json: boolean } {
  const { values } = parseArgs({
    options: {
      json: { type: 'boolean', default: false },
      runs: { type: 'string', default: '3' },
      hosts: { type: 'string', default: '50' },
      workflows: { type: 'string', default: '500' },
      rate: { type: 'string', default: '2' },
    },
  });
  return {
    json: values.json as boolean,
    runs: positiveNumber('runs', values.runs),
    hosts: positiveNumber('hosts', values.hosts),
    workflows: positiveNumber('workflows', values.workflows),
    rate: positiveNumber('rate', values.rate),
  };
}

async function main(): Promise<void> {
  const options = parseOptions();
  const shape = recordedShape();
  const runs: RunResult[] = [];
  for (let run = 1; run <= options.runs; run += 1) runs.push(await benchRun(options, run));
  const pick = (key: keyof RunResult) => median(runs.map((r) => r[key]));
  const result = {
    runs: options.runs,
    hosts: options.hosts,
    workflows: options.workflows,
    pacedRate: options.rate,
    localActivities: shape.filter((step) => step === 'local').length,
    activities: shape.filter((step) => step !== 'local').length,
    workflowsPerSecond: pick('workflowsPerSecond'),
    p50Ms: pick('p50Ms'),
    p95Ms: pick('p95Ms'),
    perRun: runs,
  };
  process.stdout.write(
    options.json ? `${JSON.stringify(result)}\n` : `${JSON.stringify(result, null, 2)}\n`,
  );
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    log(error instanceof Error ? (error.stack ?? error.message) : String(error));
    process.exit(1);
  },
);
