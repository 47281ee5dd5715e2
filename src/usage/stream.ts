import crypto from 'node:crypto';
import os from 'node:os';
import type Redis from 'ioredis';
import type { Logger } from '../logger';
import type { Metrics } from '../metrics/metrics';
import type { RedisKvStore } from '../store/redis-kv';
import { decodeEvent, encodeEvent } from './codec';
import type { UsageDrops } from './drops';
import type { UsageEvent } from './event';
import type { UsageBatch, UsageSource } from './source';

export const USAGE_STREAM_KEY = 'usage:events';
const GROUP = 'usage-writers';

export interface UsageStreamOptions {
  kv: RedisKvStore;
  /** where an event goes when Redis cannot take it (unreachable, no answer in time, stream full) */
  spool: UsageSource;
  logger: Logger;
  metrics: Metrics;
  drops: UsageDrops;
  /** entries the stream holds at most; beyond it events go to this node's spool */
  maxLen?: number;
  /** a settle call unanswered after this long: its events are spooled (a late success only duplicates, harmlessly) */
  timeoutMs?: number;
  /** false while the request path's outage guard holds Redis unreachable: no request waits on it then */
  available?: () => boolean;
  /** entries another consumer read and has not acknowledged for this long are claimed (that node died) */
  claimIdleMs?: number;
}

/** The events of one settle call, spooled when the call fails or leaves some out. */
interface Turn {
  done: Promise<number>;
  events: UsageEvent[];
  durable: Promise<void>;
}

type Entry = [id: string, fields: string[] | null];

/**
 * The usage ledger on Redis: each event is XADDed to a stream by the script call that settles its request's counters
 * (no round trip of its own), and a consumer group — every node is a consumer — writes the entries to PostgreSQL and
 * acknowledges and deletes them after the commit. Entries a consumer read and never acknowledged (it was killed, or
 * its database write kept failing) are claimed by another after `claimIdleMs` (XAUTOCLAIM). While Redis is
 * unreachable, slow, or the stream is full, events go to this node's spool file instead (read by the same writer).
 */
export class UsageStream implements UsageSource {
  readonly name = 'stream' as const;
  private readonly redis: Redis;
  private readonly key: string;
  private readonly consumer = `${os.hostname()}-${process.pid}-${crypto.randomBytes(3).toString('hex')}`;
  private readonly maxLen: number;
  private readonly timeoutMs: number;
  private readonly claimIdleMs: number;
  private turn: Turn | null = null;
  private readonly inflight = new Set<Promise<void>>();
  private known = 0;
  private groupReady = false;
  private claimCursor = '0-0';
  private nextClaimAt = 0;

  constructor(private readonly o: UsageStreamOptions) {
    this.redis = o.kv.redis;
    this.maxLen = o.maxLen ?? 1_000_000;
    this.timeoutMs = o.timeoutMs ?? 2500;
    this.claimIdleMs = o.claimIdleMs ?? 30_000;
    this.key = o.kv.useUsageStream(USAGE_STREAM_KEY, this.maxLen);
    o.metrics.usageBacklogLimit.labels('stream').set(this.maxLen);
  }

  depth(): number {
    return this.known;
  }

  append(event: UsageEvent): Promise<void> {
    if (!this.o.kv.isConnected() || this.o.available?.() === false) return this.o.spool.append(event);
    const { done } = this.o.kv.appendUsage(encodeEvent(event));
    let turn = this.turn;
    if (!turn || turn.done !== done) turn = this.turn = this.newTurn(done);
    turn.events.push(event);
    return turn.durable;
  }

  async sync(): Promise<void> {
    await Promise.all([...this.inflight]);
  }

  async refreshDepth(): Promise<void> {
    if (!this.o.kv.isConnected()) return;
    this.known = await this.redis.xlen(this.key);
    this.o.metrics.usageBacklog.labels('stream').set(this.known);
  }

  async next(max: number): Promise<UsageBatch | null> {
    await this.ensureGroup();
    let entries: Entry[] = [];
    let claimed = false;
    try {
      if (Date.now() >= this.nextClaimAt) {
        entries = await this.claim(max);
        claimed = entries.length > 0;
      }
      if (entries.length === 0) {
        const res = (await this.redis.xreadgroup('GROUP', GROUP, this.consumer, 'COUNT', max, 'STREAMS', this.key, '>')) as
          | [string, Entry[]][]
          | null;
        entries = res?.[0]?.[1] ?? [];
      }
    } catch (err) {
      if (/NOGROUP/.test(String((err as Error)?.message))) this.groupReady = false; // Redis lost the group (restarted empty)
      throw err;
    }
    if (entries.length === 0) return null;
    const ids: string[] = [];
    const events: UsageEvent[] = [];
    let undecodable = 0;
    for (const [id, fields] of entries) {
      ids.push(id);
      const e = fields && fields[0] === 'e' ? decodeEvent(fields[1]) : null;
      if (e) events.push(e);
      else undecodable += 1;
    }
    return {
      events,
      undecodable,
      more: claimed || entries.length >= max,
      ack: async () => {
        await this.redis.multi().xack(this.key, GROUP, ...ids).xdel(this.key, ...ids).exec();
        this.known = Math.max(0, this.known - ids.length);
      },
    };
  }

  async close(): Promise<void> {
    await this.sync();
  }

  /** Entries idle in other consumers' hands for claimIdleMs: walks the pending list a page per call. */
  private async claim(max: number): Promise<Entry[]> {
    const res = (await this.redis.xautoclaim(this.key, GROUP, this.consumer, this.claimIdleMs, this.claimCursor, 'COUNT', max)) as [
      string,
      Entry[],
    ];
    this.claimCursor = res[0];
    // a full walk done: look again after a while (a dead node's entries turn idle only after claimIdleMs)
    if (this.claimCursor === '0-0') this.nextClaimAt = Date.now() + Math.min(5000, Math.max(100, this.claimIdleMs / 4));
    const entries = (res[1] ?? []).filter((e) => e && e[1]);
    if (entries.length) this.o.logger.info({ claimed: entries.length }, 'usage stream: claimed events another node read and never acknowledged');
    return entries;
  }

  private async ensureGroup(): Promise<void> {
    if (this.groupReady) return;
    try {
      await this.redis.xgroup('CREATE', this.key, GROUP, '0', 'MKSTREAM');
    } catch (err) {
      if (!/BUSYGROUP/.test(String((err as Error)?.message))) throw err;
    }
    this.groupReady = true;
  }

  /** One settle call's events: what the stream did not take (full, failed, no answer in time) goes to the spool. */
  private newTurn(done: Promise<number>): Turn {
    const events: UsageEvent[] = [];
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<number>((resolve) => (timer = setTimeout(() => resolve(-1), this.timeoutMs)));
    const outcome = Promise.race([done.catch(() => -1), timedOut]).finally(() => clearTimeout(timer));
    const durable = outcome.then(async (accepted) => {
      if (this.turn?.done === done) this.turn = null;
      const spilled = accepted < 0 ? events : events.slice(accepted);
      if (spilled.length === 0) return;
      if (accepted >= 0) this.o.logger.warn({ events: spilled.length, maxLen: this.maxLen }, 'usage stream full: events spooled on this node');
      await Promise.all(spilled.map((e) => this.o.spool.append(e)));
    });
    const tracked = durable.finally(() => this.inflight.delete(tracked));
    this.inflight.add(tracked);
    return { done, events, durable: tracked };
  }
}
