/**
 * The floor benchmark's workflow worker, a process of its own as `ferry control` is in the
 * orchestration benchmark: task queue FLOOR_TASK_QUEUE on the server at FLOOR_TEMPORAL_ADDRESS.
 */
import { NativeConnection, Worker } from '@temporalio/worker';
import { floorActivities } from '../test/support/floor-activities';

async function main(): Promise<void> {
  const address = process.env.FLOOR_TEMPORAL_ADDRESS;
  const taskQueue = process.env.FLOOR_TASK_QUEUE;
  if (!address || !taskQueue) throw new Error('FLOOR_TEMPORAL_ADDRESS and FLOOR_TASK_QUEUE');
  const connection = await NativeConnection.connect({ address });
  const worker = await Worker.create({
    connection,
    taskQueue,
    workflowsPath: require.resolve('../test/support/floor-workflow'),
    activities: floorActivities,
  });
  process.once('SIGTERM', () => worker.shutdown());
  await worker.run();
  await connection.close();
}

main().catch((error: unknown) => {
  process.stderr.write(`floor worker: ${String(error)}\n`);
  process.exit(1);
});
