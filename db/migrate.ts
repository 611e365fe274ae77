import { createHash, randomUUID } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Client as PgClient } from 'pg';
import { databaseProvider } from '../config';
import { projectRoot } from '../config/project-root';
import { openLibsqlClient } from './libsql';

/**
 * Applies prisma/migrations/<provider>/* that the database has not seen, each in a transaction,
 * bookkept in Prisma's own `_prisma_migrations` table so `prisma migrate status` agrees.
 *
 * ferry applies migrations itself instead of `prisma migrate deploy` because Prisma 6.19's
 * JS schema engine fails on PostgreSQL through @prisma/adapter-pg (prisma/orm#27403); see
 * docs/database.md. With `through`, stops after that migration (an older ferry's database, for
 * upgrade tests). Returns the names of the migrations it applied.
 */
export async function migrateDatabase(
  url: string,
  options: { through?: string } = {},
): Promise<string[]> {
  const provider = databaseProvider(url);
  const dir = join(projectRoot(), 'prisma', 'migrations', provider);
  const migrations = readdirSync(dir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort()
    .filter((name) => options.through === undefined || name <= options.through)
    .map((name) => {
      const sql = readFileSync(join(dir, name, 'migration.sql'), 'utf8');
      return { name, sql, checksum: createHash('sha256').update(sql).digest('hex') };
    });
  const store = provider === 'sqlite' ? sqliteStore(url) : postgresStore(url);
  try {
    return await store.applyMissing(migrations);
  } finally {
    await store.close();
  }
}

interface PendingMigration {
  name: string;
  sql: string;
  checksum: string;
}

interface MigrationStore {
  applyMissing(migrations: PendingMigration[]): Promise<string[]>;
  close(): Promise<void>;
}

function unknownOrChanged(
  migrations: PendingMigration[],
  applied: Map<string, string>,
): PendingMigration[] {
  for (const [name, checksum] of applied) {
    const local = migrations.find((migration) => migration.name === name);
    if (!local) throw new Error(`database has migration ${name}, which this ferry does not know`);
    if (local.checksum !== checksum) {
      throw new Error(`migration ${name} was changed after it was applied (checksum differs)`);
    }
  }
  return migrations.filter((migration) => !applied.has(migration.name));
}

function sqliteStore(url: string): MigrationStore {
  mkdirSync(dirname(url.slice('file:'.length)), { recursive: true });
  const client = openLibsqlClient(url);
  return {
    async applyMissing(migrations) {
      // WAL lets the API and the CLI read while a worker writes; it persists in the file.
      await client.execute('PRAGMA journal_mode = WAL');
      await client.execute(`CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
        "id" TEXT PRIMARY KEY NOT NULL, "checksum" TEXT NOT NULL, "finished_at" DATETIME,
        "migration_name" TEXT NOT NULL, "logs" TEXT, "rolled_back_at" DATETIME,
        "started_at" DATETIME NOT NULL DEFAULT current_timestamp,
        "applied_steps_count" INTEGER UNSIGNED NOT NULL DEFAULT 0)`);
      const done: string[] = [];
      const tx = await client.transaction('write');
      try {
        const rows = await tx.execute(
          'SELECT migration_name, checksum FROM _prisma_migrations WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL',
        );
        const applied = new Map(rows.rows.map((row) => [String(row[0]), String(row[1])]));
        for (const migration of unknownOrChanged(migrations, applied)) {
          await tx.executeMultiple(migration.sql);
          await tx.execute({
            sql: `INSERT INTO _prisma_migrations (id, checksum, migration_name, started_at, finished_at, applied_steps_count)
                  VALUES (?, ?, ?, current_timestamp, current_timestamp, 1)`,
            args: [randomUUID(), migration.checksum, migration.name],
          });
          done.push(migration.name);
        }
        await tx.commit();
      } finally {
        tx.close();
      }
      return done;
    },
    async close() {
      client.close();
    },
  };
}

function postgresStore(url: string): MigrationStore {
  const client = new PgClient({ connectionString: url });
  const connected = client.connect();
  return {
    async applyMissing(migrations) {
      await connected;
      await client.query('BEGIN');
      try {
        await client.query("SELECT pg_advisory_xact_lock(hashtext('ferry-migrations'))");
        await client.query(`CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
          "id" VARCHAR(36) PRIMARY KEY NOT NULL, "checksum" VARCHAR(64) NOT NULL,
          "finished_at" TIMESTAMPTZ, "migration_name" VARCHAR(255) NOT NULL, "logs" TEXT,
          "rolled_back_at" TIMESTAMPTZ, "started_at" TIMESTAMPTZ NOT NULL DEFAULT now(),
          "applied_steps_count" INTEGER NOT NULL DEFAULT 0)`);
        const rows = await client.query<{ migration_name: string; checksum: string }>(
          'SELECT migration_name, checksum FROM _prisma_migrations WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL',
        );
        const applied = new Map(rows.rows.map((row) => [row.migration_name, row.checksum]));
        const done: string[] = [];
        for (const migration of unknownOrChanged(migrations, applied)) {
          await client.query(migration.sql);
          await client.query(
            `INSERT INTO _prisma_migrations (id, checksum, migration_name, started_at, finished_at, applied_steps_count)
             VALUES ($1, $2, $3, now(), now(), 1)`,
            [randomUUID(), migration.checksum, migration.name],
          );
          done.push(migration.name);
        }
        await client.query('COMMIT');
        return done;
      } catch (error) {
        await client.query('ROLLBACK');
        throw error;
      }
    },
    async close() {
      await connected.catch(() => undefined);
      await client.end();
    },
  };
}
