/** The task queues every workflow and worker meets on. Pure declarations, safe for workflow code. */

/** The task queue of the control worker: workflows, database and scheduler activities. */
export const CONTROL_TASK_QUEUE = 'ferry';

/** The task queue of the agent on a compute host. */
export function hostTaskQueue(host: string): string {
  return `ferry-host-${host}`;
}
