/**
 * The destination of an operation: the one the caller named, or the scheduler's choices in
 * weight order, each claimed and checked; a destination that refuses is passed over for the next
 * alternate, up to the scheduler's attempt limit.
 */
import { ApplicationFailure, log } from '@temporalio/workflow';
import { control } from './activity-proxies';
import { failureMessage } from './failures';
import type { OperationRecord } from './operation-record';
import type { DestinationRequest, OperationState, OperationStatus } from './operation-types';

export interface DestinationSearch<T> {
  /** The destination the caller named, or null for the scheduler's choice. */
  requestedHost: string | null;
  schedulerMaxAttempts: number;
  /** Nova's allow_resize_to_same_host: the source is a candidate too. */
  allowSameHost?: boolean;
  /**
   * The scheduler's call for an attempt, as the caller records it (its own action event, say);
   * without it, selectDestinations alone, for a caller that records the whole search as one step.
   */
  select?: (attempt: number, request: DestinationRequest) => Promise<string[]>;
  /** Claims `host` and checks it; on a refusal it has released what it claimed. */
  claimAndCheck(host: string): Promise<T>;
  /** Whether a failure of `claimAndCheck` lets the scheduler try the next alternate. */
  triesNext(error: unknown): boolean;
}

export async function chooseDestination<T>(
  record: OperationRecord<OperationState<OperationStatus>>,
  search: DestinationSearch<T>,
): Promise<T> {
  const { requestedHost, allowSameHost } = search;
  const exclude: string[] = [];
  for (let attempt = 1; attempt <= search.schedulerMaxAttempts; attempt++) {
    const request: DestinationRequest = {
      migrationUuid: record.migrationUuid,
      requestedHost,
      exclude,
      ...(allowSameHost === undefined ? {} : { allowSameHost }),
    };
    const [host] = await (search.select
      ? search.select(attempt, request)
      : control.selectDestinations(request));
    try {
      return await search.claimAndCheck(host);
    } catch (error) {
      if (requestedHost !== null || !search.triesNext(error)) throw error;
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
    message: `no valid host after ${search.schedulerMaxAttempts} attempts (${refused.join('; ')})`,
  });
}
