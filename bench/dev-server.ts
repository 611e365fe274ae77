/** The Temporal dev server each benchmark stack runs on: its own, persistent SQLite in `dir`. */
import { join } from 'node:path';
import { freePort } from '../test/support/free-port';
import { startDevServer } from '../temporal/dev-server';

export async function benchDevServer(dir: string) {
  return startDevServer({
    ip: '127.0.0.1',
    port: await freePort(),
    namespace: 'default',
    dbFilename: join(dir, 'temporal.db'),
    logFile: join(dir, 'temporal.log'),
  });
}
