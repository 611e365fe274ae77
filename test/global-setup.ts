import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDevServer } from '../temporal/dev-server';
import { startProductionTemporal, temporalServerPorts } from './support/temporal-server';
import { POSTGRES_ADMIN_URL } from './support/databases';
import { freePort } from './support/free-port';

declare global {
  var ferryTestServer: { stop(): Promise<void> } | undefined;
  var ferryTestServerDir: string | undefined;
  var ferryTestServerDatabases: string[] | undefined;
}

/**
 * One real Temporal server for the whole run, on free ports; tests find it in
 * FERRY_TEST_TEMPORAL_ADDRESS. By default the dev server the bootstrap built, in memory and
 * headless; with FERRY_TEST_TEMPORAL=production, temporal-server on scratch PostgreSQL databases
 * (the production-mode pass of `npm test`).
 */
export default async function globalSetup(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-test-temporal-'));
  globalThis.ferryTestServerDir = dir;
  if (process.env.FERRY_TEST_TEMPORAL === 'production') {
    const prefix = `ferry_test_temporal_${randomBytes(4).toString('hex')}`;
    globalThis.ferryTestServerDatabases = [prefix, `${prefix}_visibility`];
    const ports = await temporalServerPorts();
    const url = new URL(POSTGRES_ADMIN_URL);
    url.pathname = '';
    const server = await startProductionTemporal({
      dir,
      postgresUrl: url.toString(),
      databasePrefix: prefix,
      ports,
      namespace: 'default',
    });
    globalThis.ferryTestServer = server;
    process.env.FERRY_TEST_TEMPORAL_ADDRESS = server.address;
    return;
  }
  const server = await startDevServer({
    ip: '127.0.0.1',
    port: await freePort(),
    namespace: 'default',
    logFile: join(dir, 'temporal.log'),
  });
  globalThis.ferryTestServer = server;
  process.env.FERRY_TEST_TEMPORAL_ADDRESS = server.address;
}
