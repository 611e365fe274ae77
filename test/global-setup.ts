import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDevServer, type RunningDevServer } from '../worker/temporal-dev-server';
import { freePort } from './support/free-port';

declare global {
  var ferryTestServer: RunningDevServer | undefined;
  var ferryTestServerDir: string | undefined;
}

/**
 * One real Temporal dev server (the binary the bootstrap built) for the whole run, in memory and
 * headless, on a free port. Tests find it in FERRY_TEST_TEMPORAL_ADDRESS.
 */
export default async function globalSetup(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-test-temporal-'));
  const server = await startDevServer({
    ip: '127.0.0.1',
    port: await freePort(),
    namespace: 'default',
    logFile: join(dir, 'temporal.log'),
  });
  globalThis.ferryTestServer = server;
  globalThis.ferryTestServerDir = dir;
  process.env.FERRY_TEST_TEMPORAL_ADDRESS = server.address;
}
