import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createDatabase } from '../../src/store/db';

/** The embedded default's PostgreSQL (PGlite): small shared buffers, and a data directory that survives restarts. */
describe('embedded database (PGlite)', () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kwpglite-'));
  afterAll(() => fs.rmSync(dataDir, { recursive: true, force: true }));

  it('initialises a new data directory, keeps 16 MB of shared buffers, and keeps its data across restarts', async () => {
    const first = await createDatabase({ dataDir });
    try {
      expect(fs.existsSync(path.join(dataDir, 'pglite', 'PG_VERSION'))).toBe(true);
      expect((await first.raw('show shared_buffers')).rows[0].shared_buffers).toBe('16MB');
      await first.raw('create table kept (note text)');
      await first.raw("insert into kept values ('written before the restart')");
    } finally {
      await first.destroy();
    }
    const again = await createDatabase({ dataDir });
    try {
      expect((await again.raw('select note from kept')).rows).toEqual([{ note: 'written before the restart' }]);
    } finally {
      await again.destroy();
    }
  }, 60_000);
});
