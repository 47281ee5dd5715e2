import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import knex, { Knex } from 'knex';
import pg from 'pg';
import { PGlite } from '@electric-sql/pglite';
import ClientPgLite from 'knex-pglite';
import { openPGliteThread } from './pglite-thread';
import { migrationSource } from '../../migrations';

export type Db = Knex;

export interface DatabaseOptions {
  /** postgres:// URL; absent → embedded PGlite. */
  url?: string;
  poolMax?: number;
  /** PGlite data directory; absent → in memory (tests). */
  dataDir?: string;
  /**
   * PGlite in a worker thread (default), off the gateway's event loop; false runs it on the main thread as before
   * (PGLITE_THREAD=0, for debugging: one thread, one stack).
   */
  pgliteThread?: boolean;
}

// bigint counters and numeric money come back as JS numbers on both backends (values stay far below 2^53).
const INT8 = 20;
const NUMERIC = 1700;
pg.types.setTypeParser(INT8, (v) => Number(v));
pg.types.setTypeParser(NUMERIC, (v) => Number(v));

/** a new connection to PostgreSQL (a blackholed host would otherwise wait for the kernel's TCP timeout) */
const CONNECT_TIMEOUT_MS = 3000;
/** waiting for a free pool connection (knex's default is 60 s) */
const ACQUIRE_TIMEOUT_MS = 5000;

export async function createDatabase(opts: DatabaseOptions): Promise<Db> {
  if (opts.url) {
    return knex({
      client: 'pg',
      // short timeouts: while PostgreSQL is unreachable a request that needs it fails fast (503), it does not hang
      connection: { connectionString: opts.url, connectionTimeoutMillis: CONNECT_TIMEOUT_MS },
      acquireConnectionTimeout: ACQUIRE_TIMEOUT_MS,
      pool: { min: 0, max: opts.poolMax ?? 20 },
      migrations: { migrationSource },
    });
  }
  let dataDir: string | undefined;
  if (opts.dataDir) {
    dataDir = path.resolve(opts.dataDir, 'pglite');
    fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  }
  if (dataDir !== undefined && !fs.existsSync(path.join(dataDir, 'PG_VERSION'))) await initialiseDataDir(dataDir);
  const pglite = opts.pgliteThread === false ? await openPGlite(dataDir) : await openPGliteThread(dataDir, { startParams: PGLITE_START });
  return knex({
    client: ClientPgLite as unknown as typeof Knex.Client,
    dialect: 'postgres',
    connection: { pglite } as unknown as Knex.StaticConnectionConfig,
    migrations: { migrationSource },
  });
}

/**
 * PostgreSQL in WebAssembly: 16 MB of shared buffers instead of 128 MB (the data files still sit in the OS page
 * cache). WebAssembly memory never shrinks, so the buffers PostgreSQL fills stay in the gateway's RSS for good:
 * PGlite holds ~180 MB this way instead of ~300-360 MB.
 */
const PGLITE_START = [...PGlite.defaultStartParams, '-c', 'shared_buffers=16MB'];

/**
 * A new data directory is initialised (initdb) in a short-lived child process: initdb grows PGlite's WebAssembly
 * memory to ~800 MB, and WebAssembly memory is never given back, so a gateway that ran initdb itself would keep
 * that for good. The child's memory goes with it.
 */
async function initialiseDataDir(dataDir: string): Promise<void> {
  const script = `import(${JSON.stringify(pathToFileURL(require.resolve('@electric-sql/pglite')).href)}).then(async ({ PGlite }) => {
    const db = new PGlite(process.argv[1]);
    await db.waitReady;
    await db.close();
  })`;
  try {
    await promisify(execFile)(process.execPath, ['-e', script, dataDir], { timeout: 120_000 });
  } catch (err) {
    const { stderr } = err as { stderr?: string };
    throw new Error(`could not initialise the embedded database in ${dataDir}: ${(stderr || (err as Error).message).trim().slice(-500)}`);
  }
}

/**
 * On the main thread (PGLITE_THREAD=0). One options object: `new PGlite(undefined, options)`, the in-memory
 * database of the tests, silently ignored its options (numeric came back as strings, shared_buffers was 128 MB).
 */
async function openPGlite(dataDir: string | undefined): Promise<PGlite> {
  const pglite = new PGlite({
    dataDir,
    parsers: { [INT8]: (v: string) => Number(v), [NUMERIC]: (v: string) => Number(v) },
    startParams: PGLITE_START,
  });
  await pglite.waitReady;
  return pglite;
}

export async function migrateLatest(db: Db): Promise<string[]> {
  const [, applied] = (await db.migrate.latest()) as [number, string[]];
  return applied;
}

export async function pingDatabase(db: Db): Promise<void> {
  await db.raw('select 1');
}

export function isUniqueViolation(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: string }).code === '23505';
}

/** What a statement-only transaction offers its work: raw SQL on the transaction's connection. */
export interface SqlRunner {
  raw(sql: string, bindings?: readonly Knex.RawBinding[]): Knex.Raw;
}

/**
 * BEGIN … COMMIT on one pooled connection (ROLLBACK when the work throws), for the usage writer's batches: knex's
 * `db.transaction()` builds a whole knex instance per call (its accessors defined anew on each), which on Node 20
 * kept every batch's rows alive past young-generation collection (measured at 400 requests/s: 0.40 → 0.36 MB
 * promoted per scavenge) besides its own CPU. Raw statements only; the rest of the code keeps `db.transaction()`.
 */
export async function inTransaction<T>(db: Db, work: (sql: SqlRunner) => Promise<T>): Promise<T> {
  const connection = await db.client.acquireConnection();
  const sql: SqlRunner = { raw: (text, bindings = []) => db.raw(text, bindings as Knex.RawBinding[]).connection(connection) };
  try {
    await sql.raw('begin');
    let result: T;
    try {
      result = await work(sql);
    } catch (err) {
      await sql.raw('rollback').catch(() => {}); // a lost connection rolls back on the server; the pool drops it
      throw err;
    }
    await sql.raw('commit');
    return result;
  } finally {
    await db.client.releaseConnection(connection);
  }
}
