import type { Client } from '@temporalio/client';
import { HOST_HEARTBEATS_WORKFLOW_ID } from '../workflows/host-heartbeats-contract';
import { CONTROL_TASK_QUEUE } from '../workflows/task-queues';

/**
 * Starts the namespace's hostHeartbeats workflow unless it runs already (docs/host-liveness.md):
 * every control worker calls this at start, and a run already going is kept.
 */
export async function ensureHostHeartbeats(client: Client): Promise<string> {
  const handle = await client.workflow.start('hostHeartbeats', {
    workflowId: HOST_HEARTBEATS_WORKFLOW_ID,
    taskQueue: CONTROL_TASK_QUEUE,
    args: [],
    workflowIdConflictPolicy: 'USE_EXISTING',
  });
  return handle.firstExecutionRunId;
}
