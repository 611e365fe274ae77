import { setTimeout as sleep } from 'node:timers/promises';
import { WorkflowNotFoundError, WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import type { Database } from '../db/database';
import { instanceWorkflowId } from '../workflows/operation-types';
import type { ResizeState } from '../workflows/resize-contract';
import { confirmUpdate, revertUpdate } from '../workflows/resize-messages';
import { findInstance } from './find-instance';
import { RequestError } from './request-error';

/**
 * Confirms or reverts the resize an instance waits in VERIFY_RESIZE for, through the workflow's
 * Update: refused at once (409, with the reason) when it is not waiting, unless its record says it
 * is (then the workflow is catching up, and the decision waits for it); resolves once done.
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
  const deadline = Date.now() + CATCH_UP_MS;
  for (;;) {
    try {
      const { status, type } = await handle.describe();
      if (status.name !== 'RUNNING' || type !== 'resize') throw notWaiting();
      return await handle.executeUpdate(decision === 'confirm' ? confirmUpdate : revertUpdate);
    } catch (error) {
      if (error instanceof WorkflowNotFoundError) throw notWaiting();
      if (!(error instanceof WorkflowUpdateFailedError)) throw error;
      if (Date.now() > deadline || !(await recordedAsWaiting(db, instance.uuid))) {
        throw new RequestError('InstanceInvalidState', 409, error.cause?.message ?? error.message);
      }
      await sleep(CATCH_UP_POLL_MS);
    }
  }
}

/**
 * How long a decision waits for a workflow that is behind its record: the row says finished
 * (VERIFY_RESIZE) while the workflow has not yet seen the step that wrote it complete, as after
 * a control worker died right after that step (the step is retried once its timeout is over).
 */
const CATCH_UP_MS = 90_000;
const CATCH_UP_POLL_MS = 2000;

async function recordedAsWaiting(db: Database, instanceUuid: string): Promise<boolean> {
  const latest = await db.migration.findFirst({
    where: { instanceUuid },
    orderBy: { id: 'desc' },
  });
  return latest?.status === 'finished';
}
