import path from 'node:path';
import type { Config } from '../config';
import type { Clock } from '../clock';
import type { Logger } from '../logger';
import type { Metrics } from '../metrics/metrics';
import type { Db } from '../store/db';
import type { KvStore } from '../store/kv';
import { RedisKvStore } from '../store/redis-kv';
import { UsageDrops } from './drops';
import type { UsageSource } from './source';
import { UsageSpool } from './spool';
import { UsageStream } from './stream';
import { UsageWriter, UsageWriterOptions } from './writer';

export interface LedgerDeps {
  config: Pick<Config, 'dataDir' | 'usageRetentionDays' | 'usageLedger'>;
  db: Db;
  kv: KvStore;
  logger: Logger;
  metrics: Metrics;
  clock: Clock;
  /** the spool's folder; DATA_DIR/usage-spool unless given (tests give each gateway its own) */
  spoolDir?: string;
  /** a Redis call unanswered after this long counts as failed: its events are spooled */
  redisTimeoutMs?: number;
  /** false while the request path's outage guard holds Redis unreachable: events go straight to the spool */
  redisAvailable?: () => boolean;
}

/**
 * The usage ledger of this node: the spool file always (the embedded default's log, and where events go while Redis
 * is unreachable), the Redis stream in front of it when there is Redis, and the writer that empties both into
 * PostgreSQL.
 */
export function createUsageLedger(d: LedgerDeps): UsageWriter {
  const c = d.config.usageLedger;
  const drops = new UsageDrops(d.logger, d.metrics);
  const spool = new UsageSpool({
    dir: d.spoolDir ?? path.join(d.config.dataDir, 'usage-spool'),
    logger: d.logger,
    metrics: d.metrics,
    drops,
    maxEvents: c.spoolMaxEvents,
    fsyncIntervalMs: c.spoolFsyncMs,
  });
  const sources: UsageSource[] = [spool];
  if (d.kv instanceof RedisKvStore) {
    sources.unshift(
      new UsageStream({
        kv: d.kv,
        spool,
        logger: d.logger,
        metrics: d.metrics,
        drops,
        maxLen: c.streamMaxEvents,
        claimIdleMs: c.claimIdleMs,
        timeoutMs: d.redisTimeoutMs,
        available: d.redisAvailable,
      }),
    );
  }
  return new UsageWriter({
    db: d.db,
    logger: d.logger,
    metrics: d.metrics,
    clock: d.clock,
    drops,
    sources,
    retentionDays: d.config.usageRetentionDays,
    closeTimeoutMs: c.closeTimeoutMs,
  });
}

export type SpoolWriterOptions = Omit<UsageWriterOptions, 'drops' | 'sources'> & { dir: string; maxEvents?: number; fsyncIntervalMs?: number };

/** A writer on a spool alone (the embedded default's ledger): for tools and tests that build one by hand. */
export function createSpoolWriter(o: SpoolWriterOptions): UsageWriter {
  const drops = new UsageDrops(o.logger, o.metrics);
  const spool = new UsageSpool({ dir: o.dir, logger: o.logger, metrics: o.metrics, drops, maxEvents: o.maxEvents, fsyncIntervalMs: o.fsyncIntervalMs });
  return new UsageWriter({ ...o, drops, sources: [spool] });
}
