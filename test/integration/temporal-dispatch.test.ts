/**
 * The run's Temporal server (the dev server, or temporal-server in the production pass) runs with
 * ferry's dynamic config (temporal/dynamic-config.ts): a scheduled activity and the workflow
 * task after its completion reach their pollers within milliseconds. On Temporal's defaults each
 * waits for the shard's next transfer-queue read, 40–50 ms apart (docs/temporal-tuning.md). The
 * read limiter starts with a burst of tokens, so the first workflows on a fresh server are fast
 * on either setting: the test measures the last of several.
 */
import { randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { NativeConnection, Worker } from '@temporalio/worker';
import { floorActivities } from '../support/floor-activities';
import type { FloorStep } from '../support/floor-workflow';
import { median } from '../support/statistics';

const STEPS = 10;
/** Well above a few milliseconds of dispatch on a loaded machine, well below the default's ~42. */
const MAX_MEDIAN_WAIT_MS = 30;
/** Workflows run one after another; only the last is measured (see below). */
const WORKFLOWS = 3;

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;
const { EventType } = temporal.api.enums.v1;

const millis = ({ eventTime }: HistoryEvent) =>
  Number(eventTime?.seconds ?? 0) * 1000 + (eventTime?.nanos ?? 0) / 1e6;

/** The waits from each event of type `from` to the event of type `to` right after it. */
function waits(events: HistoryEvent[], from: number, to: number): number[] {
  const result: number[] = [];
  events.forEach((event, i) => {
    const next = events.slice(i + 1).find((later) => later.eventType === to);
    if (event.eventType === from && next) result.push(millis(next) - millis(event));
  });
  return result;
}

describe('Temporal dispatch', () => {
  it('hands a scheduled activity, and the workflow task after it, to pollers within milliseconds', async () => {
    const address = process.env.FERRY_TEST_TEMPORAL_ADDRESS as string;
    const connection = await NativeConnection.connect({ address });
    const client = new Client({ connection: await Connection.connect({ address }) });
    const id = randomUUID();
    const workflowQueue = `dispatch-workflows-${id}`;
    const hostQueue = `dispatch-host-${id}`;
    const workers = await Promise.all([
      Worker.create({
        connection,
        taskQueue: workflowQueue,
        workflowsPath: require.resolve('../support/floor-workflow'),
        activities: floorActivities,
      }),
      Worker.create({ connection, taskQueue: hostQueue, activities: floorActivities }),
    ]);
    const running = workers.map((worker) => worker.run());
    try {
      const steps: FloorStep[] = Array.from({ length: STEPS }, () => ({
        kind: 'remote',
        taskQueue: hostQueue,
      }));
      const run = async (i: number) => {
        const handle = await client.workflow.start('floorWorkflow', {
          taskQueue: workflowQueue,
          workflowId: `dispatch-${id}-${i}`,
          args: [steps],
        });
        expect(await handle.result()).toBe(STEPS);
        return handle;
      };
      for (let i = 1; i < WORKFLOWS; i += 1) await run(i);
      const handle = await run(WORKFLOWS);
      const { events } = await handle.fetchHistory();
      const history = events ?? [];
      const activityWaits = waits(
        history,
        EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED,
        EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED,
      );
      const workflowTaskWaits = waits(
        history,
        EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED,
        EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED,
      );
      expect(activityWaits).toHaveLength(STEPS);
      expect(workflowTaskWaits.length).toBeGreaterThan(STEPS);
      expect(median(activityWaits)).toBeLessThan(MAX_MEDIAN_WAIT_MS);
      expect(median(workflowTaskWaits)).toBeLessThan(MAX_MEDIAN_WAIT_MS);
    } finally {
      workers.forEach((worker) => worker.shutdown());
      await Promise.all(running);
      await client.connection.close();
      await connection.close();
    }
  });
});
