import type { Db } from '../store/db';
import type { Logger } from '../logger';
import type { Metrics } from '../metrics/metrics';
import { Clock, systemClock } from '../clock';
import { toEventRow, USAGE_EVENT_COLUMNS, UsageEvent, UsageEventRow } from './event';
import { rollUpEvents, ROLLUP_KEY_COLUMNS, ROLLUP_SUM_COLUMNS } from './rollup';
import { upsertHourly } from './rollup-hourly';
import { FifoQueue } from './bounded-queue';
import { columnArrays, pgArrayLiteral } from './pg-array';
import { UsageRetentionJob } from './retention';

export interface UsageWriterOptions {
  db: Db;
  logger: Logger;
  metrics: Metrics;
  clock?: Clock;
  /** background flush period */
  flushIntervalMs?: number;
  /** flush early once this many events wait */
  flushAt?: number;
  /** rows per transaction (one multi-row insert + one rollup upsert) */
  maxBatch?: number;
  /** events held in memory at most (queued + being written); beyond it the oldest queued are dropped */
  maxBuffered?: number;
  retryBaseMs?: number;
  retryMaxMs?: number;
  /** how long close() keeps trying to write before it counts what is left as dropped */
  closeTimeoutMs?: number;
  /** raw events older than this are pruned daily (USAGE_RETENTION_DAYS; 0 keeps them forever) */
  retentionDays?: number;
}

// Each column travels as one array parameter and `unnest` zips them back into rows: 18 parameters per
// statement whatever the batch size (no 65,535-parameter limit), and on PostgreSQL about 3x faster than
// the same rows as a VALUES list or as json_to_recordset.
const EVENT_TYPES = [
  'timestamptz', 'text', 'uuid', 'uuid', 'uuid', 'text', 'text', 'text', 'int',
  'text', 'int', 'int', 'int', 'int', 'int8', 'bool', 'bool', 'int',
];
const INSERT_EVENTS = `insert into usage_events (${USAGE_EVENT_COLUMNS.join(', ')})
  select * from unnest(${EVENT_TYPES.map((t) => `?::${t}[]`).join(', ')})`;

const ROLLUP_COLUMNS = [...ROLLUP_KEY_COLUMNS, ...ROLLUP_SUM_COLUMNS];
const ROLLUP_TYPES = ['date', 'uuid', 'uuid', 'uuid', 'text', 'text', ...ROLLUP_SUM_COLUMNS.map(() => 'int8')];
const UPSERT_DAILY = `insert into usage_daily (${ROLLUP_COLUMNS.join(', ')})
  select * from unnest(${ROLLUP_TYPES.map((t) => `?::${t}[]`).join(', ')})
  on conflict (${ROLLUP_KEY_COLUMNS.join(', ')}) do update set
  ${ROLLUP_SUM_COLUMNS.map((c) => `${c} = usage_daily.${c} + excluded.${c}`).join(',\n  ')}`;

// A wallet entry's last use is the latest event that went through it; GREATEST ignores the NULL of a first use,
// and a late batch of older events never moves it back.
const TOUCH_ENTRIES = `update wallet_entries as w set last_used_at = greatest(w.last_used_at, u.ts)
  from unnest(?::uuid[], ?::timestamptz[]) as u(id, ts) where w.id = u.id`;

/** The latest event time per wallet entry in a batch (ISO strings in one format compare as times). */
function lastUseByEntry(rows: readonly UsageEventRow[]): [string[], string[]] | null {
  const latest = new Map<string, string>();
  for (const r of rows) {
    if (!r.wallet_entry_id) continue;
    const id = r.wallet_entry_id.toLowerCase(); // one row per entry: an UPDATE … FROM applies one match only
    const seen = latest.get(id);
    if (seen === undefined || r.ts > seen) latest.set(id, r.ts);
  }
  return latest.size ? [[...latest.keys()], [...latest.values()]] : null;
}

/**
 * SQLSTATE classes 21 (cardinality), 22 (data exception) and 23 (constraint violation) mean some row in the
 * batch can never be written; anything else (connection lost, table missing, deadlock, timeout) may pass
 * on a retry.
 */
function isRowRejection(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^2[123][0-9A-Z]{3}$/.test(code);
}

/** Secret-free summary of a database error for the log (driver errors can carry the statement). */
function describe(err: unknown): { code?: string; message: string } {
  const e = err as { code?: string; message?: string };
  const message = String(e?.message ?? err);
  // knex prefixes the statement text ("insert into … - relation … does not exist"): keep the reason only
  const cut = message.lastIndexOf(' - ');
  const reason = cut >= 0 ? message.slice(cut + 3) : message;
  return { code: typeof e?.code === 'string' ? e.code : undefined, message: reason.slice(0, 300) };
}

/**
 * Writes usage events in batches, off the request path. `record` only pushes into a bounded in-memory queue;
 * a background loop writes each batch as one multi-row insert into usage_events plus one upsert each of the
 * usage_daily and usage_hourly rollups, in the same transaction, so the rollups always equal an aggregate of the events; the
 * same transaction stamps each wallet entry the batch used with its last use (`last_used_at`).
 * A batch that fails is kept and retried with exponential backoff (written at least once: if a commit's
 * acknowledgement is lost the retry can duplicate it). Rows the database rejects for good are isolated by
 * halving the batch, and only they are dropped. Drops are counted in keywallet_usage_events_dropped_total
 * and logged at most every 10 s.
 */
export class UsageWriter {
  private readonly queue = new FifoQueue<UsageEvent>();
  private inflight: UsageEventRow[] = [];
  private draining: Promise<void> | null = null;
  private kickScheduled = false;
  private failures = 0;
  private wakeBackoff: (() => void) | null = null;
  private closing: Promise<void> | null = null;
  private abandoned = false;
  private unloggedDrops = 0;
  private lastDropLog = 0;
  private lastFailureLog = 0;
  private readonly timer: NodeJS.Timeout;
  private readonly o: Required<Omit<UsageWriterOptions, 'db' | 'logger' | 'metrics' | 'clock'>>;
  readonly retention: UsageRetentionJob;

  constructor(private readonly opts: UsageWriterOptions) {
    const maxBuffered = Math.max(2, opts.maxBuffered ?? 100_000);
    this.o = {
      flushIntervalMs: opts.flushIntervalMs ?? 250,
      flushAt: opts.flushAt ?? 500,
      // at most half the buffer is ever in flight, so a stuck batch leaves room to queue (and drop) behind it
      maxBatch: Math.max(1, Math.min(opts.maxBatch ?? 1000, Math.floor(maxBuffered / 2))),
      maxBuffered,
      retryBaseMs: opts.retryBaseMs ?? 250,
      retryMaxMs: opts.retryMaxMs ?? 30_000,
      closeTimeoutMs: opts.closeTimeoutMs ?? 10_000,
      retentionDays: opts.retentionDays ?? 90,
    };
    this.timer = setInterval(() => {
      if (this.queue.length && !this.draining) void this.drain();
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

  /** Events recorded and not yet written. */
  get pending(): number {
    return this.queue.length + this.inflight.length;
  }

  /** Hot path: O(1), never touches the database, never throws. */
  record(event: UsageEvent): void {
    if (this.closing) return this.drop(1, 'writer closed');
    this.queue.push(event);
    if (this.pending > this.o.maxBuffered) this.drop(this.queue.dropOldest(1), 'buffer full');
    this.opts.metrics.usageQueueDepth.set(this.pending);
    if (this.queue.length >= this.o.flushAt && !this.draining && !this.kickScheduled) {
      this.kickScheduled = true;
      setImmediate(() => {
        this.kickScheduled = false;
        void this.drain();
      });
    }
  }

  /** Resolves once every event recorded so far (and since) is written; waits out database outages. */
  async flush(): Promise<void> {
    while (this.pending > 0 && !this.abandoned) {
      this.wakeBackoff?.();
      await this.drain();
    }
  }

  /** Stops the timers and writes what is left; after closeTimeoutMs of failures the rest is counted as dropped. */
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
      if (timedOut) {
        this.abandoned = true;
        this.wakeBackoff?.();
        const lost = this.pending;
        this.queue.dropOldest(lost);
        this.inflight = [];
        this.opts.metrics.usageDropped.inc(lost);
        this.opts.metrics.usageQueueDepth.set(0);
        this.opts.logger.error({ lost }, 'usage writer closed before the database took every event; they are lost');
      }
      this.logDrops(true);
    })();
    return this.closing;
  }

  private drain(): Promise<void> {
    this.draining ??= this.drainLoop().finally(() => {
      this.draining = null;
    });
    return this.draining;
  }

  private async drainLoop(): Promise<void> {
    while (!this.abandoned) {
      if (!this.inflight.length) {
        if (!this.queue.length) return;
        this.inflight = this.toRows(this.queue.take(this.o.maxBatch));
      }
      await this.writeInflight();
    }
  }

  /** Converts events to rows; an event that cannot even be converted (no valid ts) is dropped alone. */
  private toRows(events: UsageEvent[]): UsageEventRow[] {
    const rows: UsageEventRow[] = [];
    for (const e of events) {
      try {
        rows.push(toEventRow(e));
      } catch {
        this.drop(1, 'invalid event');
      }
    }
    return rows;
  }

  /** Writes the in-flight batch until it is empty (or the writer is abandoned); never throws. */
  private async writeInflight(): Promise<void> {
    let size = this.inflight.length;
    while (this.inflight.length && !this.abandoned) {
      const part = size >= this.inflight.length ? this.inflight : this.inflight.slice(0, size);
      try {
        await this.writeBatch(part);
        this.inflight = this.inflight.slice(part.length);
        this.opts.metrics.usageWritten.inc(part.length);
        this.failures = 0;
        size = this.inflight.length;
      } catch (err) {
        if (isRowRejection(err) && part.length > 1) {
          size = Math.ceil(part.length / 2);
        } else if (isRowRejection(err)) {
          this.inflight = this.inflight.slice(1);
          this.drop(1, 'rejected by the database', err);
          size = this.inflight.length;
        } else {
          this.failures += 1;
          this.logFailure(err);
          await this.backoff();
        }
      }
      this.opts.metrics.usageQueueDepth.set(this.pending);
    }
  }

  private async writeBatch(rows: UsageEventRow[]): Promise<void> {
    const rollups = rollUpEvents(rows);
    const events = columnArrays(rows, USAGE_EVENT_COLUMNS);
    const daily = columnArrays(rollups, ROLLUP_COLUMNS);
    const touched = lastUseByEntry(rows);
    await this.opts.db.transaction(async (trx) => {
      await trx.raw(INSERT_EVENTS, events);
      await trx.raw(UPSERT_DAILY, daily);
      await upsertHourly(trx, rows);
      if (touched) await trx.raw(TOUCH_ENTRIES, touched.map(pgArrayLiteral));
    });
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

  private logFailure(err: unknown): void {
    const now = Date.now();
    if (this.failures > 1 && now - this.lastFailureLog < 10_000) return;
    this.lastFailureLog = now;
    this.opts.logger.warn(
      { err: describe(err), pending: this.pending, attempt: this.failures },
      'usage write failed; keeping the batch and retrying',
    );
  }

  private drop(count: number, reason: string, err?: unknown): void {
    if (count <= 0) return;
    this.opts.metrics.usageDropped.inc(count);
    this.unloggedDrops += count;
    this.logDrops(false, reason, err);
  }

  /** At most one line per 10 s, carrying the count since the previous line. */
  private logDrops(force: boolean, reason?: string, err?: unknown): void {
    const now = Date.now();
    if (!this.unloggedDrops || (!force && now - this.lastDropLog < 10_000)) return;
    this.lastDropLog = now;
    this.opts.logger.warn(
      { dropped: this.unloggedDrops, reason, err: err === undefined ? undefined : describe(err), pending: this.pending },
      'usage events dropped',
    );
    this.unloggedDrops = 0;
  }
}
