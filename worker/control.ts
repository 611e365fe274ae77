import { Worker } from '@temporalio/worker';
import { createControlActivities } from '../activities/control';
import { operationPolicy } from '../activities/control/policy';
import { openDatabase } from '../db/database';
import { CONTROL_TASK_QUEUE } from '../workflows/task-queues';
import type { FerryConfig } from '../config';
import { installTemporalLogging, type Logger } from '../config/logging';
import { connectWorker } from '../temporal/connection';
import { connectTemporal } from '../temporal/client';
import { ensureHostHeartbeats } from '../client/host-heartbeats';

/**
 * The control worker: every workflow, and the activities that touch the database and scheduler,
 * on task queue `ferry`. Runs until SIGINT/SIGTERM, then drains and exits.
 */
export async function runControlWorker(config: FerryConfig, logger: Logger): Promise<void> {
  installTemporalLogging(logger);
  const db = await openDatabase(config.databaseUrl);
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
      logger.info({ workflowId: 'ferry-host-heartbeats', runId }, 'host heartbeats running');
    } finally {
      await client.connection.close();
    }
    await worker.run();
  } finally {
    await connection.close();
    await db.$disconnect();
  }
}
