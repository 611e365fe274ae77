/**
 * A live migration's destination check: the host claimed, its pre-check and the shared-storage
 * probe run; a destination whose pre-check refuses is released for the next alternate.
 */
import { log } from '@temporalio/workflow';
import { hostAgent } from './activity-proxies';
import { decideBlockMigration } from './block-migration';
import { chooseDestination } from './choose-destination';
import { errorType, failureMessage, isAgentTimeout } from './failures';
import {
  DESTINATION_REFUSALS,
  type LiveMigrationInput,
  type LiveMigrationPlan,
  type SourceFacts,
} from './live-migration-contract';
import type { LiveMigrationRecord } from './live-migration-record';
import type { DestinationRequest } from './operation-types';

export interface Destination {
  host: string;
  blockMigration: boolean;
  /** Whether the source and the destination share the instances dir (the storage probe). */
  sharedStorage: boolean;
}

function refusedByDestination(error: unknown): boolean {
  const type = errorType(error);
  return (type !== undefined && DESTINATION_REFUSALS.includes(type)) || isAgentTimeout(error);
}

/** Claims `host`, runs its pre-check and the shared-storage probe; releases the claim on refusal. */
async function checkDestination(
  record: LiveMigrationRecord,
  input: LiveMigrationInput,
  host: string,
  source: SourceFacts,
): Promise<Destination> {
  const { migrationUuid } = input;
  const event = `compute_check_can_live_migrate_destination:${host}`;
  if (record.merged) {
    await record.carry(event, (events) =>
      record.control.claimResources({ migrationUuid, host, events }),
    );
  } else {
    await record.control.claimResources({ migrationUuid, host });
  }
  try {
    return await record.step(event, async () => {
      const check = await hostAgent(host).checkCanLiveMigrateDestination({
        instanceUuid: input.instanceUuid,
        instanceName: input.instanceName,
        source,
      });
      try {
        const shared = await hostAgent(input.sourceHost).hasStorageProbe(check);
        const blockMigration = decideBlockMigration(input.blockMigration, shared, source.disks, {
          source: input.sourceHost,
          dest: host,
        });
        return { host, blockMigration, sharedStorage: shared };
      } finally {
        await hostAgent(host)
          .removeStorageProbe(check)
          .catch((error: unknown) =>
            log.warn('storage probe left behind', { host, error: failureMessage(error) }),
          );
      }
    });
  } catch (error) {
    await record.control.releaseClaims({ migrationUuid, host });
    throw error;
  }
}

/** One scheduling call as its own action event; merged, the call itself records its start. */
function select(
  record: LiveMigrationRecord,
  attempt: number,
  request: DestinationRequest,
): Promise<string[]> {
  const event = `schedule:${attempt}`;
  if (!record.merged) {
    return record.step(event, () => record.control.selectDestinations(request));
  }
  return record.writingStep(event, (events) =>
    record.control.selectDestinations({ ...request, events }),
  );
}

/** The scheduler's choices, each scheduling call and each pre-check its own action event. */
export function chooseLiveMigrationDestination(
  record: LiveMigrationRecord,
  input: LiveMigrationPlan,
  source: SourceFacts,
): Promise<Destination> {
  return chooseDestination(record, {
    requestedHost: input.requestedHost,
    schedulerMaxAttempts: input.schedulerMaxAttempts,
    select: (attempt, request) => select(record, attempt, request),
    claimAndCheck: (host) => checkDestination(record, input, host, source),
    triesNext: refusedByDestination,
  });
}
