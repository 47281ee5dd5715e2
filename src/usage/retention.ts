import type { Db } from '../store/db';
import type { Logger } from '../logger';
import type { Clock } from '../clock';

/**
 * Retention policy (decided for issue 8):
 * - raw usage_events are kept USAGE_RETENTION_DAYS (default 90; 0 keeps them forever). They serve request
 *   level debugging and re-aggregation; analytics never read them.
 * - usage_daily rollups are kept forever: one row per day × key × user × wallet entry × service × model
 *   stays small, and every analytics query and the CLI report read only the rollups.
 * Rather than partitioning (which PGlite and knex migrations handle poorly), a daily job deletes expired
 * events in bounded batches through the (ts) index, so no statement holds locks or bloats WAL for long.
 * Every node runs the job; `for update skip locked` lets concurrent runs share the work instead of
 * waiting on each other.
 */
export const DEFAULT_RETENTION_DAYS = 90;
const DAY_MS = 86_400_000;

export interface PruneOptions {
  retentionDays: number;
  nowMs: number;
  /** rows per delete statement */
  batchSize?: number;
}

/** Deletes usage events older than the retention period; returns how many went. */
export async function pruneUsageEvents(db: Db, opts: PruneOptions): Promise<number> {
  if (opts.retentionDays <= 0) return 0;
  const cutoff = new Date(opts.nowMs - opts.retentionDays * DAY_MS);
  const batchSize = opts.batchSize ?? 5000;
  let total = 0;
  for (;;) {
    // raw: knex-pglite answers a builder .delete() with the driver result instead of a count
    const result = (await db.raw(
      `delete from usage_events where id in
        (select id from usage_events where ts < ? order by ts limit ? for update skip locked)`,
      [cutoff, batchSize],
    )) as { rowCount?: number | null };
    const deleted = Number(result.rowCount ?? 0);
    total += deleted;
    if (deleted < batchSize) return total;
    await new Promise((resolve) => setImmediate(resolve));
  }
}

export interface RetentionJobOptions {
  db: Db;
  logger: Logger;
  clock: Clock;
  retentionDays?: number;
  /** first run after start, so a boot storm does not also delete; then every intervalMs */
  firstRunDelayMs?: number;
  intervalMs?: number;
}

/** Runs pruneUsageEvents once a day in the background (timers unref'd: they never keep a process alive). */
export class UsageRetentionJob {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<number> | null = null;
  readonly retentionDays: number;

  constructor(private readonly opts: RetentionJobOptions) {
    this.retentionDays = opts.retentionDays ?? DEFAULT_RETENTION_DAYS;
  }

  start(): void {
    if (this.retentionDays <= 0 || this.timer) return;
    this.schedule(this.opts.firstRunDelayMs ?? 5 * 60_000);
  }

  /** One pass now; the scheduled runs call this too. */
  runOnce(): Promise<number> {
    this.running ??= pruneUsageEvents(this.opts.db, { retentionDays: this.retentionDays, nowMs: this.opts.clock.now() })
      .then((deleted) => {
        if (deleted) this.opts.logger.info({ deleted, retentionDays: this.retentionDays }, 'pruned expired usage events');
        return deleted;
      })
      .finally(() => {
        this.running = null;
      });
    return this.running;
  }

  async stop(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.running?.catch(() => 0);
  }

  private schedule(delayMs: number): void {
    this.timer = setTimeout(() => {
      this.runOnce()
        .catch((err) => this.opts.logger.warn({ err }, 'usage retention run failed; retrying at the next run'))
        .finally(() => {
          if (this.timer) this.schedule(this.opts.intervalMs ?? DAY_MS);
        });
    }, delayMs);
    this.timer.unref();
  }
}
