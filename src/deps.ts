import type { Config } from './config';
import { Clock, systemClock } from './clock';
import { createLogger, Logger } from './logger';
import { createDatabase, Db, migrateLatest } from './store/db';
import type { KvStore } from './store/kv';
import { MemoryKvStore } from './store/memory-kv';
import { RedisKvStore } from './store/redis-kv';
import { createMetrics, Metrics } from './metrics/metrics';
import { runBuiltinSeeds } from '../seeds/builtin';
import { initSodium } from './wallet/crypto';

/** Everything the app needs, built once at boot (or once per test file) and passed down explicitly. */
export interface Deps {
  config: Config;
  logger: Logger;
  clock: Clock;
  db: Db;
  kv: KvStore;
  metrics: Metrics;
  // capability services: one field each (construction below, at the matching anchor)
  /** run on shutdown after the server stops accepting requests, in reverse order of registration */
  closers: (() => Promise<void>)[];
}

export interface DepsOverrides {
  logger?: Logger;
  clock?: Clock;
  db?: Db;
  kv?: KvStore;
  /** PGlite directory for the embedded default; tests pass nothing to keep it in memory */
  pgliteDir?: string | null;
  kvPrefix?: string;
}

export async function createDeps(config: Config, overrides: DepsOverrides = {}): Promise<Deps> {
  const logger = overrides.logger ?? createLogger(config.logLevel);
  await initSodium();
  const db =
    overrides.db ??
    (await createDatabase({
      url: config.databaseUrl,
      poolMax: config.databasePoolMax,
      dataDir: overrides.pgliteDir === null ? undefined : overrides.pgliteDir ?? config.dataDir,
    }));
  const kv: KvStore =
    overrides.kv ?? (config.redisUrl ? new RedisKvStore(config.redisUrl, overrides.kvPrefix ?? 'kw:') : new MemoryKvStore());
  if (!config.databaseUrl && !overrides.db) logger.info('DATABASE_URL not set: using embedded PGlite');
  if (kv.kind === 'memory') logger.warn('REDIS_URL not set: counters and caches are in-process (single node only)');

  const applied = await migrateLatest(db);
  if (applied.length) logger.info({ migrations: applied }, 'applied migrations');
  await runBuiltinSeeds(db);

  const deps: Deps = {
    config,
    logger,
    clock: overrides.clock ?? systemClock,
    db,
    kv,
    metrics: createMetrics(),
    closers: [],
  };
  deps.closers.push(() => db.destroy(), () => kv.close());
  // capability services: construct each here, in dependency order, one or two lines each
  return deps;
}

export async function closeDeps(deps: Deps): Promise<void> {
  for (const close of [...deps.closers].reverse()) {
    try {
      await close();
    } catch (err) {
      deps.logger.error({ err }, 'error while closing a dependency');
    }
  }
}
