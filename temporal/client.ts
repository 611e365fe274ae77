import { Client, Connection } from '@temporalio/client';
import type { FerryConfig } from '../config';
import { temporalTls, type TemporalTlsSettings } from './tls';

/** A Temporal client for ferry's namespace; close its connection when done. */
export async function connectTemporal(
  config: Pick<FerryConfig, 'temporalAddress' | 'temporalNamespace'> & TemporalTlsSettings,
): Promise<Client> {
  const connection = await Connection.connect({
    address: config.temporalAddress,
    connectTimeout: '5s',
    tls: temporalTls(config),
  });
  return new Client({ connection, namespace: config.temporalNamespace });
}
