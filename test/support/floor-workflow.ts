/**
 * The floor benchmark's workflow (bench/temporal-floor.ts): a live migration's shape with no work
 * in it. Each step is a no-op, run as a local activity or as an activity on a host's task queue,
 * in the order a recorded live migration ran them.
 */
import { proxyActivities, proxyLocalActivities } from '@temporalio/workflow';
import type { FloorActivities } from './floor-activities';

export type FloorStep = { kind: 'local' } | { kind: 'remote'; taskQueue: string };

const local = proxyLocalActivities<FloorActivities>({ startToCloseTimeout: '1 minute' });

export async function floorWorkflow(steps: FloorStep[]): Promise<number> {
  for (const step of steps) {
    if (step.kind === 'local') await local.noop();
    else {
      const remote = proxyActivities<FloorActivities>({
        taskQueue: step.taskQueue,
        startToCloseTimeout: '1 minute',
      });
      await remote.noop();
    }
  }
  return steps.length;
}
