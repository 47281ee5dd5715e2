import { createSharedBackend, SharedBackend } from '../helpers/backend';
import { createDatabase, Db, inTransaction } from '../../src/store/db';

/** The usage writer's statement-only transaction (store/db.ts inTransaction), on PGlite and on PostgreSQL. */
describe('inTransaction: BEGIN … COMMIT on one pooled connection', () => {
  let backend: SharedBackend;
  let db: Db;

  beforeAll(async () => {
    backend = await createSharedBackend();
    // two connections at most on PostgreSQL: a connection a transaction failed to give back would show at once
    db = await createDatabase({ url: backend.databaseUrl, poolMax: 2 });
    await db.raw('create table tx_probe (id int primary key, note text not null)');
  });
  afterAll(async () => {
    await db?.destroy();
    await backend?.drop();
  });
  beforeEach(() => db.raw('delete from tx_probe'));

  const ids = async () => ((await db.raw('select id from tx_probe order by id')).rows as { id: number }[]).map((r) => r.id);

  it('commits every statement of the work together and returns what the work returned', async () => {
    const out = await inTransaction(db, async (sql) => {
      await sql.raw('insert into tx_probe values (?, ?)', [1, 'a']);
      await sql.raw('insert into tx_probe values (?, ?)', [2, 'b']);
      return 'done';
    });
    expect(out).toBe('done');
    expect(await ids()).toEqual([1, 2]);
  });

  it('rolls back everything when a statement fails, and the error keeps its SQLSTATE (the writer splits on 23xxx)', async () => {
    const err: unknown = await inTransaction(db, async (sql) => {
      await sql.raw('insert into tx_probe values (?, ?)', [1, 'a']);
      await sql.raw('insert into tx_probe values (?, ?)', [1, 'again']);
    }).catch((e: unknown) => e);
    expect((err as { code?: string }).code).toBe('23505');
    expect(await ids()).toEqual([]);
  });

  it('rolls back when the work itself throws after its statements succeeded', async () => {
    await expect(
      inTransaction(db, async (sql) => {
        await sql.raw('insert into tx_probe values (?, ?)', [3, 'c']);
        throw new Error('changed my mind');
      }),
    ).rejects.toThrow('changed my mind');
    expect(await ids()).toEqual([]);
  });

  it('gives its connection back every time: many failed and committed transactions, then the pool still answers', async () => {
    for (let i = 0; i < 12; i++) {
      await inTransaction(db, async (sql) => {
        await sql.raw('insert into tx_probe values (?, ?)', [10 + i, 'x']);
        if (i % 2) await sql.raw('insert into tx_probe values (?, ?)', [10 + i, 'duplicate']);
      }).catch(() => {});
    }
    expect(await ids()).toEqual([10, 12, 14, 16, 18, 20]);
  });

  it('a transaction in progress is invisible to other queries until it commits', async () => {
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let inserted!: () => void;
    const didInsert = new Promise<void>((r) => (inserted = r));
    const tx = inTransaction(db, async (sql) => {
      await sql.raw('insert into tx_probe values (?, ?)', [42, 'pending']);
      inserted();
      await held;
    });
    await didInsert;
    // PGlite has one connection, so an outside query waits for the commit; PostgreSQL's second connection reads now
    const outside = ids();
    const early = await Promise.race([outside, new Promise<'waiting'>((r) => setTimeout(() => r('waiting'), 100))]);
    if (early !== 'waiting') expect(early).toEqual([]);
    release();
    await tx;
    expect(await ids()).toEqual([42]);
    if (early === 'waiting') expect(await outside).toEqual([42]);
  });
});
