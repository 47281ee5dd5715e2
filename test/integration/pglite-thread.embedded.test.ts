import { spawn } from 'node:child_process';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { createDatabase, Db, isUniqueViolation } from '../../src/store/db';
import { openPGliteThread, PGliteThread } from '../../src/store/pglite-thread';

const START = [...PGlite.defaultStartParams, '-c', 'shared_buffers=16MB'];
const ROOT = path.resolve(__dirname, '../..');

/** Rejection of a promise, or a failure of the test when it resolves. */
async function rejection(p: Promise<unknown>): Promise<Error & Record<string, unknown>> {
  try {
    await p;
  } catch (err) {
    return err as Error & Record<string, unknown>;
  }
  throw new Error('expected a rejection');
}

/** Issue #19: the embedded database runs in a worker thread, off the gateway's event loop (src/store/pglite-thread.ts). */
describe('PGlite in a worker thread', () => {
  describe('straight to the thread', () => {
    let thread: PGliteThread;
    beforeAll(async () => {
      thread = await openPGliteThread(undefined, { startParams: START });
    }, 60_000);
    afterAll(() => thread.close());

    it('runs with the same start parameters, in memory too', async () => {
      const { rows } = await thread.query<{ shared_buffers: string }>('show shared_buffers');
      expect(rows).toEqual([{ shared_buffers: '16MB' }]);
    });

    it('carries bindings and rows of every kind the gateway stores across the thread boundary', async () => {
      await thread.query(
        'create table kinds (n int8, m numeric(20,6), at timestamptz, doc jsonb, bytes bytea, tags text[], note text, flag boolean)',
      );
      const at = new Date('2026-03-04T05:06:07.089Z');
      const bytes = Buffer.from([0, 1, 2, 254, 255]);
      const inserted = await thread.query('insert into kinds values ($1, $2, $3, $4, $5, $6, $7, $8)', [
        9_007_199_254_740_000, 12.345678, at, JSON.stringify({ a: [1, 'two'], b: null }), bytes, ['x', 'y z'], null, true,
      ]);
      expect(inserted.affectedRows).toBe(1);
      const { rows, fields } = await thread.query<Record<string, unknown>>('select * from kinds');
      expect(fields.map((f) => f.name)).toEqual(['n', 'm', 'at', 'doc', 'bytes', 'tags', 'note', 'flag']);
      const [row] = rows;
      expect(row.n).toBe(9_007_199_254_740_000);
      expect(row.m).toBe(12.345678);
      expect(Object.prototype.toString.call(row.at)).toBe('[object Date]');
      expect((row.at as Date).toISOString()).toBe(at.toISOString());
      expect(row.doc).toEqual({ a: [1, 'two'], b: null });
      // bytea reads back as a Uint8Array, as PGlite gives it in-process (callers wrap it in Buffer.from)
      expect(Object.prototype.toString.call(row.bytes)).toBe('[object Uint8Array]');
      expect(Buffer.from(row.bytes as Uint8Array).equals(bytes)).toBe(true);
      expect(row.tags).toEqual(['x', 'y z']);
      expect(row.note).toBeNull();
      expect(row.flag).toBe(true);
      const sums = await thread.query<{ total: number; count: number }>('select sum(m) as total, count(*) as count from kinds');
      expect(sums.rows).toEqual([{ total: 12.345678, count: 1 }]);
    });

    it('answers queries sent together, each with its own rows, in order', async () => {
      const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => thread.query<{ i: number }>('select $1::int as i', [i])));
      expect(answers.map((a) => a.rows[0].i)).toEqual(Array.from({ length: 20 }, (_, i) => i));
    });

    it('rejects a query whose bindings cannot cross, and goes on answering', async () => {
      const err = await rejection(thread.query('select $1::text', [() => 'a function']));
      expect(err.name).toBe('DataCloneError');
      expect((await thread.query('select 1 as one')).rows).toEqual([{ one: 1 }]);
    });
  });

  describe('through knex (createDatabase)', () => {
    let db: Db;
    beforeAll(async () => {
      db = await createDatabase({});
      await db.raw('create table accounts (id serial primary key, email text not null constraint accounts_email_unique unique, balance numeric not null default 0)');
    }, 60_000);
    afterAll(() => db.destroy());

    it('is the worker thread by default', () => {
      expect((db.client as { pglite?: unknown }).pglite).toBeInstanceOf(PGliteThread);
    });

    it('rebuilds a unique violation with its PostgreSQL fields', async () => {
      await db('accounts').insert({ email: 'a@example.com' });
      const err = await rejection(db('accounts').insert({ email: 'a@example.com' }));
      expect(err).toBeInstanceOf(Error);
      expect(isUniqueViolation(err)).toBe(true);
      expect(err.code).toBe('23505');
      expect(err.constraint).toBe('accounts_email_unique');
      expect(err.table).toBe('accounts');
      expect(err.schema).toBe('public');
      expect(err.severity).toBe('ERROR');
      expect(err.detail).toMatch(/Key \(email\)=\(a@example.com\) already exists/);
      expect(err.message).toMatch(/duplicate key value violates unique constraint "accounts_email_unique"/);
    });

    it('rejects a syntax error with code 42601 and its position', async () => {
      const err = await rejection(db.raw('selec 1'));
      expect(err.code).toBe('42601');
      expect(err.position).toBe('1');
      expect(err.message).toMatch(/syntax error at or near "selec"/);
    });

    it('commits a transaction, and rolls one back on an error', async () => {
      await db.transaction(async (trx) => {
        await trx('accounts').insert({ email: 'commit@example.com', balance: 5 });
        await trx('accounts').where({ email: 'commit@example.com' }).increment('balance', 2.5);
      });
      expect(await db('accounts').where({ email: 'commit@example.com' }).first('balance')).toEqual({ balance: 7.5 });

      const err = await rejection(
        db.transaction(async (trx) => {
          await trx('accounts').insert({ email: 'rolled-back@example.com' });
          await trx('accounts').insert({ email: 'a@example.com' }); // unique violation: the whole transaction goes
        }),
      );
      expect(err.code).toBe('23505');
      expect(await db('accounts').where({ email: 'rolled-back@example.com' })).toEqual([]);
      // the connection is usable after the rollback
      expect(await db('accounts').count({ n: '*' })).toEqual([{ n: 2 }]);
    });

    it('leaves the main event loop free while a slow query runs', async () => {
      let ticks = 0;
      const timer = setInterval(() => ticks++, 10);
      try {
        const before = ticks;
        await db.raw('select pg_sleep(0.3)');
        // on the main thread PGlite would block the loop for the whole 300 ms: not one tick could run
        expect(ticks - before).toBeGreaterThanOrEqual(5);
      } finally {
        clearInterval(timer);
      }
    });
  });

  describe('when the thread dies', () => {
    it('rejects the pending query and every later one instead of hanging', async () => {
      const db = await createDatabase({});
      try {
        const thread = (db.client as { pglite: PGliteThread }).pglite;
        const slow = rejection(db.raw('select pg_sleep(10)'));
        await new Promise((r) => setTimeout(r, 100)); // the query is in the worker
        await thread.terminate();
        const pending = await slow;
        expect(pending.message).toMatch(/PGlite worker thread\) stopped unexpectedly/);
        const started = Date.now();
        const later = await rejection(db.raw('select 1'));
        expect(later.message).toMatch(/PGlite worker thread\) stopped unexpectedly/);
        expect(Date.now() - started).toBeLessThan(2000);
      } finally {
        await db.destroy(); // the worker is gone: closing resolves all the same
      }
    }, 60_000);

    it('after close(), queries reject as closed', async () => {
      const thread = await openPGliteThread(undefined, { startParams: START });
      await thread.close();
      await thread.close(); // idempotent
      expect((await rejection(thread.query('select 1'))).message).toMatch(/is closed/);
    }, 60_000);
  });

  it('keeps the process alive while a query is in flight, and lets it exit once idle', async () => {
    // a child that starts a slow query and keeps nothing else alive, and never closes the database: it must print
    // the answer (not exit under the query), then exit by itself (the idle worker does not hold it)
    const script = `
      const { openPGliteThread } = require(${JSON.stringify(path.join(ROOT, 'src/store/pglite-thread.ts'))});
      const { PGlite } = require('@electric-sql/pglite');
      openPGliteThread(undefined, { startParams: PGlite.defaultStartParams }).then((thread) => {
        thread.query('select pg_sleep(0.5), 42 as answer').then((r) => console.log('answer', r.rows[0].answer));
      });
    `;
    const child = spawn(process.execPath, ['--import', 'tsx', '-e', script], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    const killer = setTimeout(() => child.kill('SIGKILL'), 45_000);
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    clearTimeout(killer);
    expect(output).toContain('answer 42');
    expect(code).toBe(0);
  }, 60_000);

  it('still runs on the main thread when asked (PGLITE_THREAD=0)', async () => {
    const db = await createDatabase({ pgliteThread: false });
    try {
      expect((db.client as { pglite?: unknown }).pglite).toBeInstanceOf(PGlite);
      expect((await db.raw('select 1::int8 as one, 2.5::numeric as two')).rows).toEqual([{ one: 1, two: 2.5 }]);
      expect((await db.raw('show shared_buffers')).rows).toEqual([{ shared_buffers: '16MB' }]);
    } finally {
      await db.destroy();
    }
  }, 60_000);
});
