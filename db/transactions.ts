import type { Prisma } from '../generated/prisma/sqlite/client';
import type { Database } from './database';

/** What both the database and an open transaction answer (the same model API). */
export type DatabaseClient = Prisma.TransactionClient;

/**
 * Runs `work` in an interactive transaction. SQLite runs one transaction at a time per client, so
 * a transaction may wait up to 10 s to start; it must finish within 20 s.
 */
export function inTransaction<T>(
  db: Database,
  work: (tx: DatabaseClient) => Promise<T>,
): Promise<T> {
  return db.$transaction(work, { maxWait: 10_000, timeout: 20_000 });
}

/**
 * Takes the Host row's write lock until the transaction ends, so transactions that decide from a
 * host's capacity or migration slots run one after another for that host. A no-op UPDATE does it
 * on both providers: PostgreSQL keeps the row lock to the commit (a second transaction waits,
 * then reads what the first committed); on SQLite it is the transaction's first write, which takes
 * the database's write lock (waiting up to the busy timeout for another process's writer).
 * Returns false when the host is not registered.
 */
export async function lockHost(tx: DatabaseClient, host: string): Promise<boolean> {
  const updated = await tx.$executeRaw`UPDATE "Host" SET "state" = "state" WHERE "name" = ${host}`;
  return updated > 0;
}

/** The PostgreSQL advisory lock that serializes every control worker's slot decisions. */
const MIGRATION_SLOTS_LOCK = 0x66_65_72_72;

/**
 * Serializes the transactions that grant migration slots, fleet-wide, until this one ends: on
 * PostgreSQL a transaction-scoped advisory lock (a second transaction waits, then reads what the
 * first committed); on SQLite the source Host row's lock, whose write is the transaction's first
 * and so takes the database's write lock, which serializes every writer.
 */
export async function lockMigrationSlots(
  tx: DatabaseClient,
  provider: 'sqlite' | 'postgresql',
  sourceHost: string,
): Promise<void> {
  if (provider === 'postgresql') {
    await tx.$executeRaw`SELECT pg_advisory_xact_lock(${MIGRATION_SLOTS_LOCK}::bigint)`;
  } else {
    await lockHost(tx, sourceHost);
  }
}
