/**
 * The runs of a workflow that continued as new, and how many events each run's history holds:
 * from the chain's first run, following each run's WorkflowExecutionContinuedAsNew to the next.
 */
import type { Client, WorkflowHandle } from '@temporalio/client';

type History = Awaited<ReturnType<WorkflowHandle['fetchHistory']>>;

export async function historyEventsPerRun(client: Client, workflowId: string): Promise<number[]> {
  const latest = await client.workflow.getHandle(workflowId).describe();
  let runId: string | undefined = latest.raw.workflowExecutionInfo?.firstRunId ?? undefined;
  if (!runId) throw new Error(`${workflowId}: its description names no first run`);
  const counts: number[] = [];
  while (runId) {
    const history: History = await client.workflow.getHandle(workflowId, runId).fetchHistory();
    const events = history.events ?? [];
    counts.push(events.length);
    const last = events[events.length - 1];
    runId = last?.workflowExecutionContinuedAsNewEventAttributes?.newExecutionRunId ?? undefined;
  }
  return counts;
}
