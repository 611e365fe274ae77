/** A command's database and Temporal client, opened for its work and closed after it. */
import type { FerryConfig } from '../config';
import { openDatabase } from '../db/database';
import { connectTemporal } from '../temporal/client';

export async function withClients<T>(
  config: FerryConfig,
  work: (
    db: Awaited<ReturnType<typeof openDatabase>>,
    client: Awaited<ReturnType<typeof connectTemporal>>,
  ) => Promise<T>,
): Promise<T> {
  const db = await openDatabase(config.databaseUrl);
  const client = await connectTemporal(config);
  try {
    return await work(db, client);
  } finally {
    await client.connection.close();
    await db.$disconnect();
  }
}
