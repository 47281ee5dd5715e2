import fs from 'node:fs';
import path from 'node:path';
import knex, { Knex } from 'knex';
import pg from 'pg';
import { PGlite } from '@electric-sql/pglite';
import ClientPgLite from 'knex-pglite';
import { migrationSource } from '../../migrations';

export type Db = Knex;

export interface DatabaseOptions {
  /** postgres:// URL; absent → embedded PGlite. */
  url?: string;
  poolMax?: number;
  /** PGlite data directory; absent → in memory (tests). */
  dataDir?: string;
}

// bigint counters and numeric money come back as JS numbers on both backends (values stay far below 2^53).
const INT8 = 20;
const NUMERIC = 1700;
pg.types.setTypeParser(INT8, (v) => Number(v));
pg.types.setTypeParser(NUMERIC, (v) => Number(v));

export async function createDatabase(opts: DatabaseOptions): Promise<Db> {
  if (opts.url) {
    return knex({
      client: 'pg',
      connection: opts.url,
      pool: { min: 0, max: opts.poolMax ?? 20 },
      migrations: { migrationSource },
    });
  }
  let dataDir: string | undefined;
  if (opts.dataDir) {
    dataDir = path.resolve(opts.dataDir, 'pglite');
    fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  }
  const pglite = new PGlite(dataDir, {
    parsers: { [INT8]: (v: string) => Number(v), [NUMERIC]: (v: string) => Number(v) },
  });
  await pglite.waitReady;
  return knex({
    client: ClientPgLite as unknown as typeof Knex.Client,
    dialect: 'postgres',
    connection: { pglite } as unknown as Knex.StaticConnectionConfig,
    migrations: { migrationSource },
  });
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
