/** The record of an evacuation: the operation's, ending done or failed. */
import { evacuateControl } from './activity-proxies';
import type { EvacuateInput, EvacuationState } from './evacuate-contract';
import { OperationRecord } from './operation-record';

export class EvacuationRecord extends OperationRecord<EvacuationState> {
  constructor(input: EvacuateInput) {
    super({
      migrationUuid: input.migrationUuid,
      instanceUuid: input.instanceUuid,
      instanceName: input.instanceName,
      operation: 'evacuation',
      status: 'accepted',
      step: 'accepted',
      sourceHost: input.sourceHost,
      destHost: null,
      error: null,
      refusedHosts: [],
    });
  }

  /** The destination, on the Migration row too. */
  async destinationRecorded(host: string): Promise<void> {
    await evacuateControl.evacuationDestinationChosen({
      migrationUuid: this.migrationUuid,
      destHost: host,
    });
    this.destinationChosen(host);
  }

  /** Failed, everywhere: the instance stays recorded on its source. */
  async failed(error: string, step = this.state.step): Promise<void> {
    await evacuateControl.failEvacuation({ migrationUuid: this.migrationUuid, error });
    this.state.error = error;
    this.reached('failed', step);
  }
}
