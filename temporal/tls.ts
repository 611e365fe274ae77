/** TLS to the Temporal frontend, from the FERRY_TEMPORAL_TLS_* settings; undefined = plain gRPC. */
import { readFileSync } from 'node:fs';
import type { TLSConfig } from '@temporalio/client';
import type { FerryConfig } from '../config';

export type TemporalTlsSettings = Pick<
  FerryConfig,
  'temporalTlsCaFile' | 'temporalTlsCertFile' | 'temporalTlsKeyFile' | 'temporalTlsServerName'
>;

export function temporalTls(config: TemporalTlsSettings): TLSConfig | undefined {
  if (config.temporalTlsCaFile === null) return undefined;
  return {
    serverRootCACertificate: readFileSync(config.temporalTlsCaFile),
    serverNameOverride: config.temporalTlsServerName ?? undefined,
    clientCertPair:
      config.temporalTlsCertFile && config.temporalTlsKeyFile
        ? {
            crt: readFileSync(config.temporalTlsCertFile),
            key: readFileSync(config.temporalTlsKeyFile),
          }
        : undefined,
  };
}
