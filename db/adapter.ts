import { PrismaLibSQL } from '@prisma/adapter-libsql';
import { PrismaPg } from '@prisma/adapter-pg';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { databaseProvider } from '../config';

/** The Prisma driver adapter for a database URL: libSQL for `file:` (SQLite), pg for PostgreSQL. */
export function databaseAdapter(url: string): PrismaLibSQL | PrismaPg {
  if (databaseProvider(url) === 'sqlite') {
    mkdirSync(dirname(url.slice('file:'.length)), { recursive: true });
    return new PrismaLibSQL({ url });
  }
  return new PrismaPg({ connectionString: url });
}
