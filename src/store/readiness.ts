import type { Deps } from '../deps';
import { pingDatabase } from './db';

async function check(fn: () => Promise<void>, timeoutMs = 2000): Promise<string> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      fn(),
      new Promise((_, reject) => (timer = setTimeout(() => reject(new Error('timed out')), timeoutMs))),
    ]);
    return 'ok';
  } catch (err) {
    return `failing: ${(err as Error).message}`;
  } finally {
    clearTimeout(timer);
  }
}

export interface Readiness {
  ok: boolean;
  /** dependency → 'ok' or 'failing: …'; `limits` appears while rate limits run degraded */
  checks: Record<string, string>;
}

/** What /ready answers and /system shows: the database and the counter store, each pinged with a 2 s deadline. */
export async function readiness(deps: Pick<Deps, 'db' | 'kv' | 'limits'>): Promise<Readiness> {
  const [database, store] = await Promise.all([check(() => pingDatabase(deps.db)), check(() => deps.kv.ping())]);
  const checks: Record<string, string> = { database, [deps.kv.kind === 'redis' ? 'redis' : 'store']: store };
  // While the shared counter store is unreachable, rate limits are counted per node and credits are refused.
  if (deps.limits.degraded) checks.limits = 'degraded: per-node rate limits, credit checks failing closed';
  return { ok: database === 'ok' && store === 'ok', checks };
}

/** Which database the knex instance talks to: PostgreSQL through pg, or the embedded PGlite. */
export function databaseKind(db: Deps['db']): 'postgres' | 'pglite' {
  return (db.client as { config?: { client?: unknown } }).config?.client === 'pg' ? 'postgres' : 'pglite';
}
