import crypto from 'node:crypto';
import pg from 'pg';

/**
 * Integration tests run on the backend chosen by TEST_BACKEND: `embedded` (default: in-memory PGlite and the
 * in-process store) or `postgres` (a fresh database per test file on TEST_DATABASE_URL, and Redis at
 * TEST_REDIS_URL under a key prefix of its own).
 */
export const TEST_BACKEND = process.env.TEST_BACKEND === 'postgres' ? 'postgres' : 'embedded';
export const ADMIN_DATABASE_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

export interface SharedBackend {
  databaseUrl?: string;
  redisUrl?: string;
  kvPrefix: string;
  drop(): Promise<void>;
}

/** A database (and Redis prefix) of its own, which several gateways (nodes) can share. */
export async function createSharedBackend(): Promise<SharedBackend> {
  const id = crypto.randomBytes(6).toString('hex');
  const kvPrefix = `kwt:${id}:`;
  if (TEST_BACKEND !== 'postgres') return { kvPrefix, drop: async () => {} };
  const name = `kw_test_${id}`;
  const admin = new pg.Client({ connectionString: ADMIN_DATABASE_URL });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const url = new URL(ADMIN_DATABASE_URL);
  url.pathname = `/${name}`;
  return {
    databaseUrl: url.toString(),
    redisUrl: TEST_REDIS_URL,
    kvPrefix,
    drop: async () => {
      const c = new pg.Client({ connectionString: ADMIN_DATABASE_URL });
      await c.connect();
      await c.query(`drop database if exists ${name} with (force)`);
      await c.end();
    },
  };
}
