import { PrismaLibSQL } from '@prisma/adapter-libsql';
import { PrismaPg } from '@prisma/adapter-pg';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { databaseProvider } from '../config';
import { openLibsqlClient } from './libsql';

/**
 * Prisma's libSQL adapter over ferry's own @libsql/client instead of the older copy the adapter
 * depends on: a second SQLite library in the process loses writes (docs/database.md, "Several
 * processes on one SQLite file").
 */
class FerryLibSQL extends PrismaLibSQL {
  override createClient(config: { url: string }): ReturnType<PrismaLibSQL['createClient']> {
    // The two clients' types differ only in sync()'s result, which the adapter never calls.
    return openLibsqlClient(config.url) as unknown as ReturnType<PrismaLibSQL['createClient']>;
  }
}

/** The Prisma driver adapter for a database URL: libSQL for `file:` (SQLite), pg for PostgreSQL. */
export function databaseAdapter(url: string): PrismaLibSQL | PrismaPg {
  if (databaseProvider(url) === 'sqlite') {
    mkdirSync(dirname(url.slice('file:'.length)), { recursive: true });
    return new FerryLibSQL({ url });
  }
  return new PrismaPg({ connectionString: url });
}
