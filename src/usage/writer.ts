import crypto from 'node:crypto';
import type { Db } from '../store/db';
import type { Logger } from '../logger';
import type { Metrics } from '../metrics/metrics';
import { Clock, systemClock } from '../clock';
import { toEventRow, UsageEvent, UsageEventRow } from './event';
import { describeDbError, isRowRejection, writeUsageBatch } from './batch-write';
import type { UsageDrops } from './drops';
import type { UsageBatch, UsageSource } from './source';
import { UsageRetentionJob } from './retention';

export interface UsageWriterOptions {
  db: Db;
  logger: Logger;
  metrics: Metrics;
  drops: UsageDrops;
  /** where events are kept until PostgreSQL has them: the first takes record(); every one is read */
  sources: UsageSource[];
  clock?: Clock;
  /** background pass period */
  flushIntervalMs?: number;
  /** a pass starts early once this many events wait in the spool */
  flushAt?: number;
  /** rows per transaction (one multi-row insert + one rollup upsert) */
  maxBatch?: number;
  /** rows per transaction while a backlog is drained (after an outage): fewer, larger transactions */
  backlogBatch?: number;
  retryBaseMs?: number;
  /** the longest wait between two attempts while the database is down: how soon a backlog drains once it is back */
  retryMaxMs?: number;
  /** how long close() keeps writing; what is left stays in the spool or stream (written later, never lost) */
  closeTimeoutMs?: number;
  /** raw events older than this are pruned daily (USAGE_RETENTION_DAYS; 0 keeps them forever) */
  retentionDays?: number;
}

/**
 * The usage ledger. `record` hands an event to a durable log (the Redis stream, or the spool file) and returns a
 * promise that resolves once it is stored there: the gateway answers after that, so an answered request's event
 * survives the process being killed. A background loop reads the logs in order and writes each batch to PostgreSQL
 * in one transaction (events, the daily rollups of the events that were new, wallet entries' last use), then
 * acknowledges it. Inserts are idempotent by event id, so a batch written twice (a crash between the commit and the
 * acknowledgement, a stream entry claimed by a second node) counts once. A database outage holds the batch and
 * retries with a backoff capped at `retryMaxMs`; the logs keep filling meanwhile and drain in large batches after.
 * Rows the database rejects for good are isolated by halving the batch, and only they are dropped (counted).
 */
export class UsageWriter {
  private draining: Promise<void> | null = null;
  private kickScheduled = false;
  private failures = 0;
  private wakeBackoff: (() => void) | null = null;
  private closing: Promise<void> | null = null;
  private abandoned = false;
  private lastFailureLog = 0;
  /** the sources whose last read reached their tail and whose batch was written (what flush waits for) */
  private readonly caughtUp = new Set<UsageSource>();
  /** one depth refresh at a time (a hung Redis must not pile them up) */
  private refreshing: Promise<void> | null = null;
  private readonly timer: NodeJS.Timeout;
  private readonly o: Required<Omit<UsageWriterOptions, 'db' | 'logger' | 'metrics' | 'clock' | 'drops' | 'sources'>>;
  private readonly primary: UsageSource;
  readonly retention: UsageRetentionJob;

  constructor(private readonly opts: UsageWriterOptions) {
    if (opts.sources.length === 0) throw new Error('UsageWriter needs a source');
    this.primary = opts.sources[0];
    this.o = {
      flushIntervalMs: opts.flushIntervalMs ?? 250,
      flushAt: opts.flushAt ?? 500,
      maxBatch: Math.max(1, opts.maxBatch ?? 1000),
      backlogBatch: Math.max(1, opts.backlogBatch ?? 10_000),
      retryBaseMs: opts.retryBaseMs ?? 100,
      retryMaxMs: opts.retryMaxMs ?? 1000,
      closeTimeoutMs: opts.closeTimeoutMs ?? 10_000,
      retentionDays: opts.retentionDays ?? 90,
    };
    for (const s of opts.sources) {
      const spool = s as UsageSource & { onAppend?: ((depth: number) => void) | null };
      if ('onAppend' in spool) spool.onAppend = (depth) => depth >= this.o.flushAt && this.kick();
    }
    let ticks = 0;
    this.timer = setInterval(() => {
      // the stream's depth is read from Redis about once a second, for the backlog metric and batch sizes
      if (++ticks * this.o.flushIntervalMs >= 1000) {
        ticks = 0;
        void this.refreshDepths();
      }
      this.kick();
    }, this.o.flushIntervalMs);
    this.timer.unref();
    this.retention = new UsageRetentionJob({
      db: opts.db,
      logger: opts.logger,
      clock: opts.clock ?? systemClock,
      retentionDays: this.o.retentionDays,
    });
    this.retention.start();
  }

  /** Events stored durably and not yet in PostgreSQL, as last known. */
  get pending(): number {
    let n = 0;
    for (const s of this.opts.sources) n += s.depth();
    return n;
  }

  /** Hot path: stores the event in the durable log; resolves once it is there. Never rejects. */
  record(event: UsageEvent): Promise<void> {
    event.id ??= crypto.randomUUID();
    return this.primary.append(event);
  }

  /**
   * Resolves once every event recorded so far is in PostgreSQL (each log read to its tail and written); waits out
   * database outages. On a stream shared by several nodes, events the others add meanwhile are not waited for.
   */
  async flush(): Promise<void> {
    for (const s of this.opts.sources) await s.sync();
    // a pass that read before the sync may end at a tail older than the events being flushed: it does not count
    if (this.draining) await this.draining;
    this.caughtUp.clear();
    while (!this.abandoned) {
      this.wakeBackoff?.();
      await this.drain();
      if (this.opts.sources.every((s) => this.caughtUp.has(s))) break;
      await new Promise((r) => setTimeout(r, 10));
    }
    await this.refreshDepths();
  }

  /**
   * Stops the loop and writes what is left for at most closeTimeoutMs (never waiting out a backoff past it). What
   * the database did not take stays in the spool or the stream: written at the next start, or by another node.
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      clearInterval(this.timer);
      await this.retention.stop();
      let deadline: NodeJS.Timeout | undefined;
      const timedOut = await Promise.race([
        this.flush().then(() => false),
        new Promise<boolean>((resolve) => (deadline = setTimeout(() => resolve(true), this.o.closeTimeoutMs))),
      ]);
      clearTimeout(deadline);
      this.abandoned = true;
      this.wakeBackoff?.();
      if (timedOut) {
        this.opts.logger.warn(
          { left: this.pending, stores: this.opts.sources.map((s) => s.name) },
          'usage writer closed before the database took every event; they stay in the spool / stream and are written later',
        );
      }
      for (const s of this.opts.sources) await s.close();
      this.opts.drops.flush();
    })();
    return this.closing;
  }

  private kick(): void {
    if (this.draining || this.kickScheduled || this.abandoned) return;
    this.kickScheduled = true;
    setImmediate(() => {
      this.kickScheduled = false;
      void this.drain();
    });
  }

  private drain(): Promise<void> {
    this.draining ??= this.drainLoop().finally(() => {
      this.draining = null;
    });
    return this.draining;
  }

  private async refreshDepths(): Promise<void> {
    if (this.refreshing) return this.refreshing;
    this.refreshing = (async () => {
      for (const s of this.opts.sources) {
        try {
          await s.refreshDepth?.();
        } catch {
          // the stream is unreachable: its last known depth stands
        }
      }
      this.opts.metrics.usageQueueDepth.set(this.pending);
    })().finally(() => (this.refreshing = null));
    return this.refreshing;
  }

  /**
   * Passes over every source while one still has more than its last batch took (a backlog). A pass that reached a
   * source's tail waits for the next tick (or `flushAt`): under a steady trickle, going straight back would write
   * a transaction of a handful of events each time, and on the embedded database every statement runs on this
   * event loop (a batch's fixed cost is about 1 ms of PGlite there, whatever its size).
   */
  private async drainLoop(): Promise<void> {
    while (!this.abandoned) {
      let more = false;
      for (const source of this.opts.sources) {
        if (this.abandoned) return;
        if (await this.pass(source)) more = true;
      }
      if (!more) return;
    }
  }

  /** Writes one batch of the source, and acknowledges it once committed; true when the source holds more right now. */
  private async pass(source: UsageSource): Promise<boolean> {
    let batch: UsageBatch | null;
    this.caughtUp.delete(source);
    try {
      const size = source.depth() > 2 * this.o.maxBatch ? this.o.backlogBatch : this.o.maxBatch;
      batch = await source.next(size);
    } catch (err) {
      this.logFailure(err, `could not read the usage ${source.name}`);
      return false;
    }
    if (!batch) {
      this.caughtUp.add(source);
      return false;
    }
    this.opts.drops.count(batch.undecodable, `undecodable ${source.name} entry`);
    const written = await this.writeRows(this.toRows(batch.events));
    if (written) {
      if (!batch.more) this.caughtUp.add(source);
      try {
        await batch.ack();
      } catch (err) {
        // written but not acknowledged: read again later, and inserted as nothing new
        this.logFailure(err, `could not acknowledge usage ${source.name} entries`);
      }
    }
    this.opts.metrics.usageQueueDepth.set(this.pending);
    return written && batch.more;
  }

  /** Converts events to rows; an event that cannot even be converted (no valid ts) is dropped alone. */
  private toRows(events: UsageEvent[]): UsageEventRow[] {
    const rows: UsageEventRow[] = [];
    for (const e of events) {
      try {
        rows.push(toEventRow(e));
      } catch {
        this.opts.drops.count(1, 'invalid event');
      }
    }
    return rows;
  }

  /** Writes the rows until all are stored (true) or the writer is abandoned (false); never throws. */
  private async writeRows(rows: UsageEventRow[]): Promise<boolean> {
    let rest = rows;
    let size = rest.length;
    while (rest.length && !this.abandoned) {
      const part = size >= rest.length ? rest : rest.slice(0, size);
      try {
        const fresh = await writeUsageBatch(this.opts.db, part);
        rest = rest.slice(part.length);
        this.opts.metrics.usageWritten.inc(fresh);
        this.failures = 0;
        size = rest.length;
      } catch (err) {
        if (isRowRejection(err) && part.length > 1) {
          size = Math.ceil(part.length / 2);
        } else if (isRowRejection(err)) {
          rest = rest.slice(1);
          this.opts.drops.count(1, 'rejected by the database', err);
          size = rest.length;
        } else {
          this.failures += 1;
          this.logFailure(err, 'usage write failed; keeping the batch and retrying');
          await this.backoff();
        }
      }
    }
    return rest.length === 0;
  }

  private backoff(): Promise<void> {
    const exp = Math.min(this.o.retryMaxMs, this.o.retryBaseMs * 2 ** Math.min(this.failures - 1, 20));
    const delay = exp / 2 + (Math.random() * exp) / 2; // jitter: nodes that failed together retry apart
    return new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wakeBackoff = null;
        resolve();
      };
      const timer = setTimeout(done, delay);
      timer.unref(); // never what keeps a process alive; close() holds its own deadline timer
      this.wakeBackoff = done;
    });
  }

  /** The first failure of a streak, then at most one line per 10 s. */
  private logFailure(err: unknown, message: string): void {
    const now = Date.now();
    if (this.failures !== 1 && now - this.lastFailureLog < 10_000) return;
    this.lastFailureLog = now;
    this.opts.logger.warn({ err: describeDbError(err), pending: this.pending, attempt: this.failures }, message);
  }
}
