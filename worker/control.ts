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

/**
 * The control worker: every workflow, and the activities that touch the database and scheduler,
 * on task queue `ferry`, and its `/metrics` (the fleet's figures from the database, its own, the
 * Temporal SDK's). Runs until SIGINT/SIGTERM, then drains and exits.
 */
export async function runControlWorker(config: FerryConfig, logger: Logger): Promise<void> {
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
      workflowsPath: require.resolve('../workflows'),
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
