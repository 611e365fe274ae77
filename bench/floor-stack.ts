/**
 * Temporal's own floor for ferry's orchestration, what bench/temporal-floor.ts reports and
 * bench/orchestration.ts runs beside ferry's migrations: workflows of a live migration's shape
 * with no work in them, on the same server and process layout as bench/orchestration.ts (a dev
 * server with persistent SQLite, the workflow worker a process of its own, one worker per host
 * queue in this process). The shape is read from a live migration recorded as ferry runs it now
 * (test/fixtures/histories/merged-steps-live-migration-completed.json): its markers (local
 * activities and its patch) and its activities on the source's and the destination's queues, in
 * order; its search-attribute upserts and progress signals are left out, so the floor is if
 * anything too low.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { projectRoot } from '../config/project-root';
import { floorActivities } from '../test/support/floor-activities';
import type { FloorStep } from '../test/support/floor-workflow';
import { percentile } from '../test/support/statistics';
import { benchDevServer } from './dev-server';
import { Cleanups, cpuMs, log, ownCpuMs, runAll, stopChild } from './measure';

const TASK_QUEUE = 'floor';
const BURST_CONCURRENCY = 50;
const RECORDED = join(
  'test',
  'fixtures',
  'histories',
  'merged-steps-live-migration-completed.json',
);

interface HistoryEvent {
  eventType: string;
  activityTaskScheduledEventAttributes?: { taskQueue: { name: string } };
}

/** The recorded migration's steps: 'local', or the index of the host (0 source, 1 destination). */
export function recordedShape(): ('local' | number)[] {
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

export interface FloorOptions {
  hosts: number;
  workflows: number;
  /** Paced starts per second after the burst; none when absent (the burst alone). */
  rate?: number;
}

export interface FloorResult {
  workflowsPerSecond: number;
  /**
   * CPU time over the burst, per workflow: the workflow worker's, the dev server's, and this
   * process's (the host queues' workers and the client).
   */
  workerCpuMsPerWorkflow: number;
  serverCpuMsPerWorkflow: number;
  hostsCpuMsPerWorkflow: number;
  p50Ms?: number;
  p95Ms?: number;
}

/** One run of the floor on a dev server of its own: burst, then paced when `rate` is given. */
export async function floorRun(options: FloorOptions, run: number): Promise<FloorResult> {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-bench-floor-'));
  const cleanups = new Cleanups();
  cleanups.add(async () => rmSync(dir, { recursive: true }));
  try {
    const server = await benchDevServer(dir);
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
    const cpu = () => [
      cpuMs(workflowWorker.pid as number),
      cpuMs(server.process.pid as number),
      ownCpuMs(),
    ];
    const cpuBefore = cpu();
    const burst = await runAll(indexes, one, { concurrency: BURST_CONCURRENCY });
    const [workerCpuMs, serverCpuMs, hostsCpuMs] = cpu().map(
      (ms, i) => (ms - cpuBefore[i]) / burst.length,
    );
    const first = Math.min(...burst.map((o) => o.startedAt));
    const last = Math.max(...burst.map((o) => o.endedAt));
    const result: FloorResult = {
      workflowsPerSecond: Math.round((10_000 * burst.length) / (last - first)) / 10,
      workerCpuMsPerWorkflow: Math.round(workerCpuMs),
      serverCpuMsPerWorkflow: Math.round(serverCpuMs),
      hostsCpuMsPerWorkflow: Math.round(hostsCpuMs),
    };
    if (options.rate !== undefined) {
      const paced = await runAll(indexes, one, { rate: options.rate });
      const took = paced.map((o) => o.endedAt - o.startedAt);
      result.p50Ms = Math.round(percentile(took, 50));
      result.p95Ms = Math.round(percentile(took, 95));
    }
    log(`floor run ${run}: ${JSON.stringify(result)}`);
    return result;
  } finally {
    await cleanups.run();
  }
}
