import type { Client } from '@libsql/client' with { 'resolution-mode': 'import' };

// @libsql/client publishes ESM-only type declarations next to its CommonJS build.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { createClient } = require('@libsql/client') as typeof import('@libsql/client', {
  with: { 'resolution-mode': 'import' },
});

/** How long a statement waits for another process's lock on the file (SQLite's busy timeout). */
export const BUSY_TIMEOUT_MS = 10_000;

/**
 * The one libSQL client ferry opens SQLite with, for Prisma's adapter and the migration runner
 * alike: one copy of SQLite per process, and every pooled connection opened with the busy
 * timeout (docs/database.md, "Several processes on one SQLite file"). A test that asks whether
 * another connection holds the write lock opens one with none.
 */
export function openLibsqlClient(url: string, busyTimeoutMs = BUSY_TIMEOUT_MS): Client {
  return createClient({ url, timeout: busyTimeoutMs });
}
