import { rmSync } from 'node:fs';
import { dropDatabase } from './support/databases';

export default async function globalTeardown(): Promise<void> {
  await globalThis.ferryTestServer?.stop();
  for (const name of globalThis.ferryTestServerDatabases ?? []) await dropDatabase(name);
  if (globalThis.ferryTestServerDir) {
    rmSync(globalThis.ferryTestServerDir, { recursive: true, force: true });
  }
}
