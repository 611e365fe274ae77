/**
 * A process that writes and reads ferry's database through the database layer, as the bench and
 * the test harnesses do (migrate, then open), driven over its IPC channel by
 * test/integration/sqlite-processes.test.ts. Each request gets one reply: the row it read, or
 * the error the database raised. Once open it writes a seed flavor and reports its id as ready.
 */
import { openDatabase } from '../../db/database';
import { migrateDatabase } from '../../db/migrate';

export type SqliteProcessRequest =
  | { seq: number; op: 'createFlavor'; id: string }
  | { seq: number; op: 'readFlavor'; id: string }
  | { seq: number; op: 'createHost'; name: string }
  | { seq: number; op: 'readHost'; name: string };

export interface SqliteProcessReply {
  seq: number;
  /** The row's id or name and, for a host, its vCPUs; null when the row is not there. */
  row?: { key: string; vcpusTotal?: number } | null;
  error?: string;
}

async function main(): Promise<void> {
  const url = process.env.FERRY_DATABASE_URL as string;
  await migrateDatabase(url);
  const db = await openDatabase(url);
  await db.flavor.create({
    data: {
      id: `seed-${process.pid}`,
      name: `seed-${process.pid}`,
      vcpus: 1,
      memoryMiB: 64,
      rootDiskGiB: 1,
    },
  });
  // A full collection now, as V8 may run one at any moment: a closed libSQL connection lets go
  // of the file only when its statements are collected (docs/database.md).
  (globalThis as { gc?: () => void }).gc?.();
  const answer = async (request: SqliteProcessRequest): Promise<SqliteProcessReply['row']> => {
    switch (request.op) {
      case 'createFlavor': {
        const size = { vcpus: 1, memoryMiB: 64, rootDiskGiB: 1 };
        await db.flavor.create({ data: { id: request.id, name: request.id, ...size } });
        const row = await db.flavor.findUnique({ where: { id: request.id } });
        return row && { key: row.id };
      }
      case 'readFlavor': {
        const row = await db.flavor.findUnique({ where: { id: request.id } });
        return row && { key: row.id };
      }
      case 'createHost': {
        const uri = `test:///${request.name}`;
        await db.host.create({ data: { name: request.name, libvirtUri: uri } });
        const row = await db.host.findUnique({ where: { name: request.name } });
        return row && { key: row.name, vcpusTotal: row.vcpusTotal };
      }
      case 'readHost': {
        const row = await db.host.findUnique({ where: { name: request.name } });
        return row && { key: row.name, vcpusTotal: row.vcpusTotal };
      }
    }
  };
  process.on('message', (request: SqliteProcessRequest) => {
    answer(request).then(
      (row) => process.send?.({ seq: request.seq, row } satisfies SqliteProcessReply),
      (error: unknown) =>
        process.send?.({ seq: request.seq, error: String(error) } satisfies SqliteProcessReply),
    );
  });
  process.once('disconnect', () => void db.$disconnect());
  process.send?.({ ready: `seed-${process.pid}` });
}

void main();
