import { WorkflowNotFoundError, WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import type { Database } from '../../activities/control/database';
import { instanceWorkflowId } from '../../workflows/migration-types';
import { confirmUpdate, revertUpdate } from '../../workflows/resize-messages';
import type { ResizeState } from '../../workflows/resize-types';
import { findInstance } from './find-instance';
import { RequestError } from './request-error';

/**
 * Confirms or reverts the resize an instance waits in VERIFY_RESIZE for, through the workflow's
 * Update: refused at once (409, with the reason) when it is not waiting; resolves once done.
 */
export async function decideResize(
  db: Database,
  client: Client,
  nameOrUuid: string,
  decision: 'confirm' | 'revert',
): Promise<ResizeState> {
  const instance = await findInstance(db, nameOrUuid);
  const handle = client.workflow.getHandle(instanceWorkflowId(instance.uuid));
  const notWaiting = () =>
    new RequestError(
      'InstanceInvalidState',
      409,
      `instance ${instance.name} is not in VERIFY_RESIZE: there is no resize to ${decision}`,
    );
  try {
    const { status, type } = await handle.describe();
    if (status.name !== 'RUNNING' || type !== 'resize') throw notWaiting();
    return await handle.executeUpdate(decision === 'confirm' ? confirmUpdate : revertUpdate);
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) throw notWaiting();
    if (error instanceof WorkflowUpdateFailedError) {
      throw new RequestError('InstanceInvalidState', 409, error.cause?.message ?? error.message);
    }
    throw error;
  }
}
