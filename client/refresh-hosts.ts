import type { refreshHosts } from '../workflows';
import { CONTROL_TASK_QUEUE } from '../workflows/task-queues';
import type { RefreshHostsResult } from '../workflows/refresh-hosts-contract';
import type { FerryConfig } from '../config';
import { connectTemporal } from '../temporal/client';

/**
 * Runs the refreshHosts workflow and waits for it. Its id is fixed, so concurrent callers share
 * the one run in progress instead of starting another.
 */
export async function runRefreshHosts(config: FerryConfig): Promise<RefreshHostsResult> {
  const client = await connectTemporal(config);
  try {
    return await client.workflow.execute<typeof refreshHosts>('refreshHosts', {
      taskQueue: CONTROL_TASK_QUEUE,
      workflowId: 'ferry-refresh-hosts',
      workflowIdConflictPolicy: 'USE_EXISTING',
      workflowExecutionTimeout: '5m',
    });
  } finally {
    await client.connection.close();
  }
}
