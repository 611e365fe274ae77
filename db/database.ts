import { PrismaClient } from '../generated/prisma/sqlite/client';
import { PrismaClient as PostgresPrismaClient } from '../generated/prisma/postgresql/client';
import { databaseProvider } from '../config';
import { databaseAdapter } from './adapter';

/**
 * ferry's database client. Both providers generate the same model API from one schema; the SQLite
 * client's type stands for both.
 */
export type Database = PrismaClient;

/**
 * Opens the database a URL names. SQLite runs in WAL mode (set by the migration runner) and waits
 * up to 10 s for another process's lock on every connection (db/libsql.ts).
 */
export async function openDatabase(url: string): Promise<Database> {
  const adapter = databaseAdapter(url);
  if (databaseProvider(url) === 'postgresql') {
    const db = new PostgresPrismaClient({ adapter }) as unknown as Database;
    providers.set(db, 'postgresql');
    return db;
  }
  const db = new PrismaClient({ adapter });
  providers.set(db, 'sqlite');
  return db;
}

const providers = new WeakMap<Database, 'sqlite' | 'postgresql'>();

/** Which provider an opened database runs on, for the few queries whose SQL differs. */
export function providerOf(db: Database): 'sqlite' | 'postgresql' {
  const provider = providers.get(db);
  if (!provider) throw new Error('providerOf: a database not opened by openDatabase');
  return provider;
}
