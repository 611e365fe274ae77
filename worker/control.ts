import { getHeapStatistics } from 'node:v8';
import { Worker } from '@temporalio/worker';
import { Registry } from 'prom-client';
import { createControlActivities } from '../activities/control';
import { operationPolicy } from '../activities/control/policy';
import { openDatabase } from '../db/database';
import { CONTROL_TASK_QUEUE } from '../workflows/task-queues';
import type { FerryConfig } from '../config';
import type { Logger } from '../config/logging';
import { fleetRegistry } from '../metrics/fleet';
import { processRegistry } from '../metrics/process';
import { connectWorker } from '../temporal/connection';
import { connectTemporal } from '../temporal/client';
import { ensureHostHeartbeats } from '../client/host-heartbeats';
import { HOST_HEARTBEATS_WORKFLOW_ID } from '../workflows/host-heartbeats-contract';
import { startWorkerMetrics } from './metrics';
import { CONTROL_HEAP_MB, CONTROL_NODE_ARGS } from './control-process';
import { workflowCode } from './workflow-bundle';

/**
 * Workflows kept in the worker's cache between their tasks. The SDK's default follows the heap
 * bound (about 40 under CONTROL_HEAP_MB, fewer than a burst's running migrations, each of which
 * would then be replayed from its history at every task).
 */
const MAX_CACHED_WORKFLOWS = 500;

/** Warns when the process was started without the heap bound (docs/control-worker.md, "Memory"). */
function checkHeapBound(logger: Logger): void {
  const heapLimitMb = Math.round(getHeapStatistics().heap_size_limit / 2 ** 20);
  if (heapLimitMb > 2 * CONTROL_HEAP_MB) {
    logger.warn(
      { heapLimitMb, nodeArgs: CONTROL_NODE_ARGS },
      'the control worker runs without its heap bound, so hundreds of MB of garbage build up ' +
        'before V8 collects them: start it with bin/ferry or with these node arguments',
    );
  }
}

/**
 * The control worker: every workflow, and the activities that touch the database and scheduler,
 * on task queue `ferry`, and its `/metrics` (the fleet's figures from the database, its own, the
 * Temporal SDK's). Runs until SIGINT/SIGTERM, then drains and exits.
 */
export async function runControlWorker(config: FerryConfig, logger: Logger): Promise<void> {
  checkHeapBound(logger);
  const db = await openDatabase(config.databaseUrl);
  const metrics = await startWorkerMetrics(logger, {
    host: config.metricsHost,
    port: config.metricsPort,
    registry: Registry.merge([fleetRegistry(db), processRegistry]),
  });
  const connection = await connectWorker(config, logger);
  try {
    const worker = await Worker.create({
      connection,
      namespace: config.temporalNamespace,
      taskQueue: CONTROL_TASK_QUEUE,
      ...workflowCode(logger),
      maxCachedWorkflows: MAX_CACHED_WORKFLOWS,
      activities: createControlActivities(db, config),
    });
    logger.info(
      { taskQueue: CONTROL_TASK_QUEUE, policy: operationPolicy(config) },
      'control worker running',
    );
    const client = await connectTemporal(config);
    try {
      const runId = await ensureHostHeartbeats(client);
      logger.info({ workflowId: HOST_HEARTBEATS_WORKFLOW_ID, runId }, 'host heartbeats running');
    } finally {
      await client.connection.close();
    }
    await worker.run();
  } finally {
    await metrics?.close();
    await connection.close();
    await db.$disconnect();
  }
}
