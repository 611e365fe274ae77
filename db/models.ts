/**
 * The database's row types and Prisma's query helpers, for code outside db/: only db/ imports the
 * generated clients (docs/architecture.md, "Layers").
 */
export type {
  Drain,
  DrainItem,
  Flavor,
  Host,
  Instance,
  Migration,
} from '../generated/prisma/sqlite/client';
export { Prisma } from '../generated/prisma/sqlite/client';
