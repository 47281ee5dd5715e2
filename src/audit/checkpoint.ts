import type { Knex } from 'knex';
import type { Logger } from '../logger';
import type { Metrics } from '../metrics/metrics';
import { auditKeysOf, Checkpoint, signCheckpoint } from './chain';
import { GENESIS_HASH } from './audit';

/**
 * Published checkpoints of the audit chain: its row count and head hash, signed. Each node logs one whenever the
 * chain has grown (and at boot) and exports the count as `keywallet_audit_rows`, so copies live where a database
 * writer cannot reach them (log storage, Prometheus); GET /audit/head hands one out on demand. `audit verify
 * --expect-count N --expect-head H` (or --checkpoint FILE) then detects a chain cut short or rewritten since.
 */

const CHECKPOINT_INTERVAL_MS = 60_000;

/** Counted incrementally: appends are serialised and ids grow in commit order, so only rows past `lastId` are new. */
export class AuditCheckpointer {
  private count = 0;
  private lastId = 0;
  private headHash = GENESIS_HASH;
  private published: string | null = null;
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly deps: { db: Knex; logger: Logger; metrics: Metrics; clock: { now(): number } }) {}

  async current(): Promise<Checkpoint> {
    const db = this.deps.db;
    const [{ n, last }] = await db('audit_log').where('id', '>', this.lastId).select(db.raw('count(*) as n'), db.raw('max(id) as last'));
    if (Number(n) > 0) {
      const head = await db('audit_log').where({ id: last }).first('hash');
      this.count += Number(n);
      this.lastId = Number(last);
      this.headHash = head.hash;
    }
    return signCheckpoint(auditKeysOf(db), { count: this.count, headHash: this.headHash, at: new Date(this.deps.clock.now()).toISOString() });
  }

  /** Logs a checkpoint and updates the gauge when the chain changed since the last one published. */
  async publish(): Promise<Checkpoint> {
    const checkpoint = await this.current();
    this.deps.metrics.auditRows.set(checkpoint.count);
    const head = `${checkpoint.count}:${checkpoint.headHash}`;
    if (head !== this.published) {
      this.published = head;
      this.deps.logger.info({ auditCheckpoint: checkpoint }, 'audit checkpoint');
    }
    return checkpoint;
  }

  start(intervalMs = CHECKPOINT_INTERVAL_MS): void {
    this.timer = setInterval(() => {
      this.publish().catch((err) => this.deps.logger.warn({ err }, 'audit checkpoint failed'));
    }, intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}
