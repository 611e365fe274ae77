import { PrismaClient } from '../../generated/prisma/sqlite/client';
import { PrismaClient as PostgresPrismaClient } from '../../generated/prisma/postgresql/client';
import { databaseProvider } from '../../worker/config';
import { databaseAdapter } from './database-adapter';

/**
 * ferry's database client. Both providers generate the same model API from one schema; the SQLite
 * client's type stands for both.
 */
export type Database = PrismaClient;

/** Opens the database a URL names. SQLite waits up to 10 s for another process's write lock. */
export async function openDatabase(url: string): Promise<Database> {
  const adapter = databaseAdapter(url);
  if (databaseProvider(url) === 'postgresql') {
    return new PostgresPrismaClient({ adapter }) as unknown as Database;
  }
  const db = new PrismaClient({ adapter });
  await db.$queryRawUnsafe('PRAGMA busy_timeout = 10000');
  return db;
}
