import { rmSync } from 'node:fs';

export default async function globalTeardown(): Promise<void> {
  await globalThis.ferryTestServer?.stop();
  if (globalThis.ferryTestServerDir) {
    rmSync(globalThis.ferryTestServerDir, { recursive: true, force: true });
  }
}
