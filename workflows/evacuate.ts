/**
 * Evacuation (docs/evacuate.md): an instance of a host that is down, defined on another host from
 * the definition ferry recorded and started there if it was running, on the same disks.
 * accepted → pre-migrating → done, or failed with the instance left on its source and nothing on
 * the destination. Never while the source might still run it: its host must be down, and unless
 * the operator forced it down, its libvirt must not answer the destination.
 */
import { CancellationScope, setHandler } from '@temporalio/workflow';
import { control, evacuateControl, evacuatingAgent } from './activity-proxies';
import { chooseDestination } from './choose-destination';
import { Compensations, rollbackMessage } from './compensations';
import type { EvacuateInput, EvacuationPlan, EvacuationState } from './evacuate-contract';
import { evacuationStatusQuery } from './evacuate-messages';
import { EvacuationRecord } from './evacuation-record';
import { errorType, failureMessage, isAgentTimeout } from './failures';

/** Refusals of one destination, after which the next alternate may do. */
const TRIES_NEXT = ['MigrationPreCheckError', 'InvalidSharedStorage'];

export async function evacuate(input: EvacuateInput): Promise<EvacuationState> {
  const { migrationUuid, instanceUuid } = input;
  const record = new EvacuationRecord(input);
  setHandler(evacuationStatusQuery, () => record.state);

  let plan: EvacuationPlan;
  try {
    plan = await evacuateControl.beginEvacuation({
      migrationUuid,
      requestedBy: input.requestedBy,
    });
  } catch (error) {
    const message = failureMessage(error);
    await record.failed(message, 'refused');
    throw record.failure(errorType(error) ?? 'MigrationError', message);
  }
  record.reached('pre-migrating', 'rebuilding');

  const undo = new Compensations();
  try {
    undo.add('release the resource claims', () => control.releaseClaims({ migrationUuid }));
    const { schedulerMaxAttempts } = await control.describePolicy();
    const dest = await record.step('schedule', () =>
      chooseDestination(record, {
        requestedHost: input.requestedHost,
        schedulerMaxAttempts,
        claimAndCheck: async (host) => {
          await control.claimResources({ migrationUuid, host });
          try {
            await evacuatingAgent(host).checkEvacuationDestination({
              instanceUuid,
              fenceUri: plan.fenceUri,
              domainXml: plan.domainXml,
            });
          } catch (error) {
            await control.releaseClaims({ migrationUuid, host });
            throw error;
          }
          return host;
        },
        triesNext: (error) => isAgentTimeout(error) || TRIES_NEXT.includes(errorType(error) ?? ''),
      }),
    );
    await record.destinationRecorded(dest);

    // Registered before the step: a definition whose start failed must go as well.
    undo.add(`undefine the instance on ${dest}`, async () => {
      await evacuatingAgent(dest).destroyEvacuatedInstance({ instanceUuid });
    });
    await record.step('compute_rebuild_instance', () =>
      evacuatingAgent(dest).defineEvacuatedInstance({
        instanceUuid,
        domainXml: plan.domainXml,
        start: plan.wasRunning,
      }),
    );
    await evacuateControl.finishEvacuation({ migrationUuid, destHost: dest });
    record.reached('done', 'done');
    return record.state;
  } catch (error) {
    return CancellationScope.nonCancellable(async () => {
      const reason = failureMessage(error);
      const failed = await undo.run();
      const message = rollbackMessage(reason, failed);
      await record.failed(message);
      throw record.failure(errorType(error) ?? 'MigrationError', message);
    });
  }
}
