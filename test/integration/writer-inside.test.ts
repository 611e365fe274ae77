import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openLibsqlClient } from '../../db/libsql';
import { migrateDatabase } from '../../db/migrate';
import { writerInside } from '../support/writer-inside';

/**
 * The probe the lab stack pauses the control worker by (pauseControlOutsideWrites): were it blind
 * to a writer, the crash matrix's requests would fail by timing.
 */
describe('writerInside', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-writer-inside-'));
  const url = `file:${join(dir, 'ferry.db')}`;

  beforeAll(() => migrateDatabase(url));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('sees another connection inside a write transaction, and not once it ended', async () => {
    const other = openLibsqlClient(url);
    try {
      expect(await writerInside(url)).toBe(false);
      const held = await other.transaction('write');
      expect(await writerInside(url)).toBe(true);
      await held.execute(
        "INSERT INTO Flavor (id, name, vcpus, memoryMiB, rootDiskGiB) VALUES ('w', 'w', 1, 64, 1)",
      );
      await held.commit();
      expect(await writerInside(url)).toBe(false);
      const read = await other.transaction('read');
      expect(await writerInside(url)).toBe(false);
      await read.rollback();
    } finally {
      other.close();
    }
  });

  it('refuses a database that is not SQLite', async () => {
    await expect(writerInside('postgresql://localhost/ferry')).rejects.toThrow(
      "writerInside reads SQLite's write lock; postgresql has none",
    );
  });
});
