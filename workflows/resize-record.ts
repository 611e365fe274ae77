/** The record of a resize or cold migration: the operation's, with Nova's task states. */
import { resizeControl } from './activity-proxies';
import { OperationRecord } from './operation-record';
import type { ResizeInput, ResizeState, ResizeStatus, ResizeTaskState } from './resize-contract';

export class ResizeRecord extends OperationRecord<ResizeState> {
  constructor(input: ResizeInput) {
    super({
      migrationUuid: input.migrationUuid,
      instanceUuid: input.instanceUuid,
      instanceName: input.instanceName,
      operation: input.migrationType,
      status: 'pre-migrating',
      step: 'resize_prep',
      sourceHost: input.sourceHost,
      destHost: null,
      copiedBytes: null,
      totalBytes: null,
      confirmDeadline: null,
      confirmedBy: null,
      error: null,
      refusedHosts: [],
    });
  }

  /** A new status and the instance's task state, everywhere. */
  async transition(status: ResizeStatus, taskState: ResizeTaskState): Promise<void> {
    await resizeControl.setResizeProgress({
      migrationUuid: this.migrationUuid,
      status,
      taskState,
      ...(this.state.destHost ? { destHost: this.state.destHost } : {}),
    });
    this.reached(status, taskState);
  }

  /** Failed, everywhere; `instanceError` leaves the instance in ERROR for an operator. */
  async failed(error: string, instanceError: boolean, step = this.state.step): Promise<void> {
    await resizeControl.failResize({ migrationUuid: this.migrationUuid, error, instanceError });
    this.state.error = error;
    this.reached('error', step);
  }
}
