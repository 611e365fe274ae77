import { NativeConnection } from '@temporalio/worker';
import { setTimeout as sleep } from 'node:timers/promises';
import type { FerryConfig } from '../config';
import type { Logger } from '../config/logging';
import { temporalTls, type TemporalTlsSettings } from './tls';

/**
 * Connects a worker to Temporal, waiting for the server if it is not up yet: an agent on a compute
 * host may well start before the control plane. Gives up only when the process is told to stop.
 */
export async function connectWorker(
  config: Pick<FerryConfig, 'temporalAddress'> & TemporalTlsSettings,
  logger: Logger,
): Promise<NativeConnection> {
  const address = config.temporalAddress;
  const tls = temporalTls(config);
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    for (let attempt = 1; ; attempt++) {
      try {
        return await NativeConnection.connect({ address, tls });
      } catch (error) {
        if (attempt === 1 || attempt % 15 === 0) {
          logger.warn({ address, attempt, err: (error as Error).message }, 'waiting for Temporal');
        }
      }
      await sleep(2000, undefined, { signal: stop.signal });
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
