import { openLibsqlClient } from '../../db/libsql';

/**
 * Whether another connection is inside a write transaction on the SQLite database at `url` now:
 * a write transaction of our own, begun with no busy timeout, is refused at once while another
 * holds the file's write lock. Only SQLite: the tests that pause the control worker around a
 * request run on it (docs/testing.md).
 */
export async function writerInside(url: string): Promise<boolean> {
  if (!url.startsWith('file:')) {
    throw new Error(`writerInside reads SQLite's write lock; ${url.split(':')[0]} has none`);
  }
  const client = openLibsqlClient(url, 0);
  try {
    const transaction = await client.transaction('write');
    await transaction.rollback();
    return false;
  } catch (error) {
    if ((error as { code?: string }).code === 'SQLITE_BUSY') return true;
    throw error;
  } finally {
    client.close();
  }
}
