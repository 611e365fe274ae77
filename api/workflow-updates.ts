import {
  WorkflowClient,
  WorkflowNotFoundError,
  WorkflowUpdateRPCTimeoutOrCancelledError,
  WorkflowUpdateStage,
  type Client,
  type UpdateDefinition,
  type WorkflowClientInterceptor,
} from '@temporalio/client';
import { ApiError } from './errors';

/** How long a request waits for an instance's workflow to take an Update. */
export const UPDATE_DEADLINE_MS = 10_000;

/** An Update the workflow's validator refused, with its reason. */
class UpdateRefused extends Error {}

/**
 * Turns an Update the workflow refused (its outcome a failure as soon as it is answered) into
 * UpdateRefused: startUpdate alone would hand back a handle whose result() throws later.
 */
const refusals: WorkflowClientInterceptor = {
  async startUpdate(input, next) {
    const output = await next(input);
    const failure = output.outcome?.failure;
    if (failure) throw new UpdateRefused(failure.message ?? 'refused');
    return output;
  },
};

/** Sends the workflows of instances Updates that the API does not wait out. */
export class WorkflowUpdates {
  private readonly workflows: WorkflowClient;

  constructor(private readonly client: Client) {
    this.workflows = new WorkflowClient({
      connection: client.connection,
      namespace: client.options.namespace,
      interceptors: [refusals],
    });
  }

  /**
   * Sends `update` to the running workflow `workflowId` and returns once its validator accepted
   * it, without waiting for the handler (a confirm or a force-complete runs for a while). `refused`
   * is the error for a workflow that is not running, or whose validator refuses (given the reason);
   * a workflow that takes no task within UPDATE_DEADLINE_MS is a 503.
   */
  async send(
    workflowId: string,
    update: UpdateDefinition<unknown, [], string>,
    refused: (reason: string) => ApiError,
  ): Promise<void> {
    const handle = this.workflows.getHandle(workflowId);
    try {
      const { status } = await handle.describe();
      if (status.name !== 'RUNNING') throw refused(`its workflow is ${status.name.toLowerCase()}`);
      await this.client.connection.withDeadline(Date.now() + UPDATE_DEADLINE_MS, () =>
        handle.startUpdate(update, { waitForStage: WorkflowUpdateStage.ACCEPTED }),
      );
    } catch (error) {
      if (error instanceof WorkflowNotFoundError) throw refused('it has no workflow');
      if (error instanceof UpdateRefused) throw refused(error.message);
      if (error instanceof WorkflowUpdateRPCTimeoutOrCancelledError) {
        throw new ApiError(
          503,
          `workflow ${workflowId} did not take the request within ${UPDATE_DEADLINE_MS / 1000} s (is a control worker running?); it may still take effect`,
        );
      }
      throw error;
    }
  }
}
