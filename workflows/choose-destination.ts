/**
 * Steps 2 and 3 of a live migration: the destination the caller named, or the scheduler's
 * choices in weight order, each claimed and pre-checked; a destination whose pre-check refuses is
 * released and the next alternate tried, up to the scheduler's attempt limit.
 */
import { ApplicationFailure, log } from '@temporalio/workflow';
import { control, hostAgent } from './activity-proxies';
import { decideBlockMigration } from './block-migration';
import { errorType, failureMessage, isAgentTimeout } from './failures';
import type { LiveMigrationRecord } from './live-migration-record';
import {
  DESTINATION_REFUSALS,
  type LiveMigrationInput,
  type LiveMigrationPlan,
  type SourceFacts,
} from './migration-types';

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
  await control.claimResources({ migrationUuid, host });
  try {
    return await record.step(`compute_check_can_live_migrate_destination:${host}`, async () => {
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
    await control.releaseClaims({ migrationUuid, host });
    throw error;
  }
}

export async function chooseDestination(
  record: LiveMigrationRecord,
  input: LiveMigrationPlan,
  source: SourceFacts,
): Promise<Destination> {
  const exclude: string[] = [];
  for (let attempt = 1; attempt <= input.schedulerMaxAttempts; attempt++) {
    const [host] = await record.step(`schedule:${attempt}`, () =>
      control.selectDestinations({
        migrationUuid: input.migrationUuid,
        requestedHost: input.requestedHost,
        exclude,
      }),
    );
    try {
      return await checkDestination(record, input, host, source);
    } catch (error) {
      if (input.requestedHost !== null || !refusedByDestination(error)) throw error;
      const reason = failureMessage(error);
      log.info('destination refused, trying the next alternate', { host, reason });
      record.state.refusedHosts.push({ host, reason });
      exclude.push(host);
    }
  }
  const refused = record.state.refusedHosts.map(({ host, reason }) => `${host}: ${reason}`);
  throw ApplicationFailure.create({
    type: 'NoValidHost',
    nonRetryable: true,
    message: `no valid host after ${input.schedulerMaxAttempts} attempts (${refused.join('; ')})`,
  });
}
