import Redis from 'ioredis';
import { AdmitResult, CounterAdjustment, CounterCheck, CounterRef, KvStore, rollingBuckets, windowBuckets } from './kv';
import { ADMIT, SETTLE } from './redis-scripts';

/** Where the usage events of a settle call go: the stream's full key and its most entries. */
export interface UsageStreamTarget {
  key: string;
  maxLen: number;
}

type AdmitFn = (numKeys: number, ...args: string[]) => Promise<number[]>;
type SettleFn = (numKeys: number, ...args: string[]) => Promise<number[]>;

/** Adjustments and usage events waiting for the end of the event-loop turn; one script call carries them all. */
interface AdjustBatch {
  keys: string[];
  spec: string;
  /** encoded usage events for the stream */
  events: string[];
  /** the script's reply: how many of `events` the stream took, then each counter's value after its adjustment */
  reply: Promise<number[]>;
  /** resolves with how many of `events` the stream took */
  done: Promise<number>;
  resolve: (reply: number[]) => void;
  reject: (err: unknown) => void;
}

const MAX_ADJUSTMENTS_PER_CALL = 512;
const MAX_EVENTS_PER_CALL = 512;
const noop = () => {};
/** checks (keys) per batched admit call; a request's group is never split */
const MAX_ADMIT_KEYS_PER_CALL = 512;

/** One request's admit waiting in a batch: its checks, where their windows reset, and its promise. */
interface AdmitWaiter {
  checks: readonly CounterCheck[];
  resets: number[];
  /** the linked group after it, when there is one */
  linked: { checks: readonly CounterCheck[]; resets: number[] } | null;
  resolve: (result: AdmitResult) => void;
  reject: (err: unknown) => void;
}

interface AdmitBatch {
  keys: string[];
  spec: string;
  waiters: AdmitWaiter[];
}

function newAdjustBatch(): AdjustBatch {
  const batch = { keys: [], spec: '', events: [] } as unknown as AdjustBatch;
  batch.reply = new Promise<number[]>((resolve, reject) => {
    batch.resolve = resolve;
    batch.reject = reject;
  });
  batch.done = batch.reply.then((out) => Number(out[0]));
  batch.done.catch(noop); // a batch of adjustments only: its callers read `reply`
  return batch;
}

export class RedisKvStore implements KvStore {
  readonly kind = 'redis' as const;
  private readonly client: Redis;
  private subscriber: Redis | null = null;
  private readonly handlers = new Map<string, ((m: string) => void)[]>();
  /** 'unknown' until the first connection completes (commands wait in the offline queue meanwhile) */
  private link: 'unknown' | 'up' | 'down' = 'unknown';
  private adjustBatch: AdjustBatch | null = null;
  private admitBatch: AdmitBatch | null = null;
  private usageStream: UsageStreamTarget | null = null;

  /**
   * `prefix` namespaces every key and channel (tests use one per file; production `kw:`).
   * Auto-pipelining: the commands that concurrent requests issue in the same event-loop turn share one socket
   * write. Order is kept per client; nothing relies on order across this client and the subscriber.
   */
  constructor(url: string, private readonly prefix = 'kw:') {
    // Reconnect every 100 ms at most while Redis is away (ioredis's default backs off to 2 s): a node is back on the
    // shared counters within a fraction of a second of Redis returning; a refused connection costs next to nothing.
    // Commands are only ever sent while connected (the request path's guard refuses them otherwise), so the offline
    // queue holds at most what was in flight when the connection dropped, failed after two reconnect attempts.
    this.client = new Redis(url, {
      lazyConnect: false,
      maxRetriesPerRequest: 2,
      enableOfflineQueue: true,
      enableAutoPipelining: true,
      // The admit and settle scripts are batched per event-loop turn here already (one call each per turn):
      // auto-pipelining them too only added a Pipeline per call and a second turn of waiting before the write.
      autoPipeliningIgnoredCommands: ['kwAdmit', 'kwSettle'],
      retryStrategy: (times) => Math.min(times * 20, 100),
      // a Redis still loading its data after a restart is asked again in 100 ms (ioredis's default waits 1 s)
      maxLoadingRetryTime: 100,
    });
    this.client.on('error', () => {}); // surfaced through ping() / failed commands; reconnects on its own
    this.client.on('ready', () => (this.link = 'up'));
    this.client.on('close', () => (this.link = 'down'));
    this.client.on('end', () => (this.link = 'down'));
    this.client.defineCommand('kwAdmit', { lua: ADMIT });
    this.client.defineCommand('kwSettle', { lua: SETTLE });
  }

  /**
   * Joins the batch of this event-loop turn (sent on setImmediate, or at once when full): under load the admits of
   * every request that arrived in one turn are one command, where each used to be one command of its own.
   */
  admit(checks: CounterCheck[], nowMs: number, linked?: CounterCheck[]): Promise<AdmitResult> {
    if (checks.length === 0) {
      if (!linked) return Promise.resolve({ ok: true, blocked: -1, states: [] });
      return this.admit(linked, nowMs).then((result) => ({ ok: true, blocked: -1, states: [], linked: result }));
    }
    if (linked?.length === 0) {
      return this.admit(checks, nowMs).then((result) => ({ ...result, linked: result.ok ? { ok: true, blocked: -1, states: [] } : null }));
    }
    const size = checks.length + (linked?.length ?? 0);
    let batch = this.admitBatch;
    if (!batch || (batch.keys.length > 0 && batch.keys.length + size > MAX_ADMIT_KEYS_PER_CALL)) {
      if (batch) this.flushAdmits();
      batch = this.admitBatch = { keys: [], spec: '', waiters: [] };
      setImmediate(() => {
        if (this.admitBatch === batch) this.flushAdmits();
      });
    }
    const resets = this.addGroup(batch, checks, nowMs, false);
    const linkedGroup = linked ? { checks: linked, resets: this.addGroup(batch, linked, nowMs, true) } : null;
    return new Promise<AdmitResult>((resolve, reject) => {
      batch.waiters.push({ checks, resets, linked: linkedGroup, resolve, reject });
    });
  }

  /** Appends one group to the batch; returns when each of its windows resets (-1 for plain counters). */
  private addGroup(batch: AdmitBatch, checks: readonly CounterCheck[], nowMs: number, linked: boolean): number[] {
    const resets: number[] = [];
    let spec = `${batch.spec ? ',' : ''}${linked ? -checks.length : checks.length}`;
    for (const c of checks) {
      batch.keys.push(this.prefix + c.key);
      if (c.rolling) {
        resets.push(-1);
        const { index } = rollingBuckets(c.rolling, nowMs);
        spec += `,${c.limit},${Math.round(c.cost)},${-c.rolling.bucketMs},${index},${c.rolling.buckets},${c.ttlMs ?? 0},${Math.round(c.initial ?? 0)}`;
      } else if (c.windowMs) {
        const index = Math.floor(nowMs / c.windowMs);
        const elapsed = nowMs - index * c.windowMs;
        resets.push(c.windowMs - elapsed);
        spec += `,${c.limit},${Math.round(c.cost)},${c.windowMs},${index},${elapsed},0,0`;
      } else {
        resets.push(-1);
        spec += `,${c.limit},${Math.round(c.cost)},0,0,0,${c.ttlMs ?? 0},${Math.round(c.initial ?? 0)}`;
      }
    }
    batch.spec += spec;
    return resets;
  }

  private flushAdmits(): void {
    const batch = this.admitBatch;
    this.admitBatch = null;
    if (!batch || batch.waiters.length === 0) return;
    const run = (this.client as unknown as { kwAdmit: AdmitFn }).kwAdmit;
    run.call(this.client, batch.keys.length, ...batch.keys, `[${batch.spec}]`).then(
      (out) => {
        let at = 0;
        /** reads one group's reply at `at`: -2 (not tried) → null */
        const group = (checks: readonly CounterCheck[], resets: number[]): AdmitResult | null => {
          const blocked = Number(out[at]);
          if (blocked === -2) {
            at += 1;
            return null;
          }
          const states = new Array<AdmitResult['states'][number]>(checks.length);
          for (let i = 0; i < checks.length; i++) {
            const ttl = Number(out[at + 2 + 2 * i]);
            const reset = resets[i];
            states[i] = { used: Number(out[at + 1 + 2 * i]), limit: checks[i].limit, resetMs: reset >= 0 ? reset : ttl > 0 ? ttl : 0 };
          }
          at += 1 + 2 * checks.length;
          return { ok: blocked === -1, blocked, states };
        };
        for (const w of batch.waiters) {
          const result = group(w.checks, w.resets)!;
          if (w.linked) result.linked = group(w.linked.checks, w.linked.resets);
          w.resolve(result);
        }
      },
      (err) => {
        for (const w of batch.waiters) w.reject(err);
      },
    );
  }

  adjust(check: CounterRef, delta: number, nowMs: number): Promise<void> {
    return this.adjustMany([{ check, delta }], nowMs).then(noop);
  }

  /**
   * Adjustments made in the same event-loop turn (the settlements and refunds of every request that finished in
   * it) are merged into one script call, sent on setImmediate: per request that is a share of one command instead
   * of one command each. Each caller's promise settles with the call that carried its adjustments.
   */
  adjustMany(items: readonly CounterAdjustment[], nowMs: number): Promise<number[]> {
    if (items.length === 0) return Promise.resolve([]);
    const batch = this.settleBatch(items.length, 0);
    const first = batch.keys.length;
    for (const { check, delta } of items) {
      batch.keys.push(check.windowMs ? `${this.prefix}${check.key}:${Math.floor(nowMs / check.windowMs)}` : this.prefix + check.key);
      const rolling = check.rolling;
      const tail = rolling ? `${-rolling.bucketMs},${rollingBuckets(rolling, nowMs).index},${rolling.buckets}` : `${check.windowMs ?? 0},0,0`;
      batch.spec += `${batch.spec ? ',' : ''}${Math.round(delta)},${tail}`;
    }
    return batch.reply.then((out) => {
      const values = new Array<number>(items.length);
      for (let i = 0; i < items.length; i++) {
        const v = Number(out[1 + first + i]);
        values[i] = v < 0 || items[i].check.windowMs ? NaN : v;
      }
      return values;
    });
  }

  /** Names the stream appendUsage writes to, and its most entries; returns its full (prefixed) key. */
  useUsageStream(key: string, maxLen: number): string {
    this.usageStream = { key: this.prefix + key, maxLen };
    return this.usageStream.key;
  }

  /**
   * Appends an encoded usage event to the stream in the settle call of this turn (no round trip of its own: it rides
   * with the turn's settlements). `done` resolves with how many of the call's events the stream took; this one was
   * taken when `index` is below that. Rejects when the call failed.
   */
  appendUsage(line: string): { done: Promise<number>; index: number } {
    const batch = this.settleBatch(0, 1);
    batch.events.push(line);
    return { done: batch.done, index: batch.events.length - 1 };
  }

  /** The batch of this turn with room for more counters and events (a full one is sent at once). */
  private settleBatch(counters: number, events: number): AdjustBatch {
    let batch = this.adjustBatch;
    if (!batch || batch.keys.length + counters > MAX_ADJUSTMENTS_PER_CALL || batch.events.length + events > MAX_EVENTS_PER_CALL) {
      if (batch) this.flushAdjustments();
      batch = this.adjustBatch = newAdjustBatch();
      setImmediate(() => {
        if (this.adjustBatch === batch) this.flushAdjustments();
      });
    }
    return batch;
  }

  private flushAdjustments(): void {
    const batch = this.adjustBatch;
    this.adjustBatch = null;
    if (!batch) return;
    const run = (this.client as unknown as { kwSettle: SettleFn }).kwSettle;
    const stream = batch.events.length && this.usageStream;
    if (batch.events.length && !stream) {
      batch.reject(new Error('no usage stream configured'));
      return;
    }
    const tail = stream ? [stream.key, `[${batch.spec}]`, String(batch.events.length), String(stream.maxLen), ...batch.events] : [`[${batch.spec}]`, '0'];
    run.call(this.client, batch.keys.length + (stream ? 1 : 0), ...batch.keys, ...tail).then(batch.resolve, batch.reject);
  }

  /** The connection itself, for the usage stream's consumer group (XREADGROUP, XAUTOCLAIM, XACK). */
  get redis(): Redis {
    return this.client;
  }

  async peek(checks: Pick<CounterCheck, 'key' | 'windowMs' | 'rolling'>[], nowMs: number): Promise<number[]> {
    if (checks.length === 0) return [];
    if (checks.some((c) => c.rolling)) {
      // rolling totals are hashes (not read by MGET): one pipelined read per counter, off the request path
      return Promise.all(checks.map(async (c) => (c.rolling ? this.rollingTotal(c.key, c.rolling, nowMs) : (await this.peek([c], nowMs))[0])));
    }
    const keys = checks.flatMap((c) => {
      if (!c.windowMs) return [this.prefix + c.key, this.prefix + c.key];
      const b = windowBuckets(this.prefix + c.key, c.windowMs, nowMs);
      return [b.current, b.previous];
    });
    const values = await this.client.mget(...keys);
    return checks.map((c, i) => {
      const curr = Number(values[2 * i] ?? 0);
      if (!c.windowMs) return curr;
      const elapsed = windowBuckets(c.key, c.windowMs, nowMs).elapsed;
      return Math.floor((Number(values[2 * i + 1] ?? 0) * (c.windowMs - elapsed)) / c.windowMs) + curr;
    });
  }

  private async rollingTotal(key: string, rolling: NonNullable<CounterCheck['rolling']>, nowMs: number): Promise<number> {
    const { oldest } = rollingBuckets(rolling, nowMs);
    const h = await this.client.hgetall(this.prefix + key);
    let sum = 0;
    for (const [bucket, amount] of Object.entries(h)) if (Number(bucket) >= oldest) sum += Number(amount);
    return sum;
  }

  async get(key: string): Promise<string | null> {
    return this.client.get(this.prefix + key);
  }

  async set(key: string, value: string, ttlMs?: number): Promise<void> {
    if (ttlMs) await this.client.set(this.prefix + key, value, 'PX', ttlMs);
    else await this.client.set(this.prefix + key, value);
  }

  async del(key: string): Promise<void> {
    await this.client.del(this.prefix + key);
  }

  async publish(channel: string, message: string): Promise<void> {
    await this.client.publish(this.prefix + channel, message);
  }

  async subscribe(channel: string, handler: (message: string) => void): Promise<void> {
    if (!this.subscriber) {
      // The subscriber queues its SUBSCRIBEs until Redis answers and re-subscribes after reconnects, so a node
      // can boot while Redis is down (reporting not-ready) and catch up when it comes back.
      this.subscriber = this.client.duplicate({ maxRetriesPerRequest: null, enableAutoPipelining: false });
      this.subscriber.on('error', () => {});
      this.subscriber.on('message', (ch: string, message: string) => {
        for (const h of this.handlers.get(ch) ?? []) h(message);
      });
    }
    const full = this.prefix + channel;
    const list = this.handlers.get(full) ?? [];
    list.push(handler);
    if (list.length === 1) this.subscriber.subscribe(full).catch(() => {});
    this.handlers.set(full, list);
  }

  async ping(): Promise<void> {
    await this.client.ping();
  }

  isConnected(): boolean {
    return this.link !== 'down';
  }

  async close(): Promise<void> {
    // QUIT waits for Redis; when it is unreachable, give up after a moment and drop the sockets.
    this.flushAdmits();
    this.flushAdjustments();
    await this.drainAutoPipelines(1000); // QUIT skips the auto-pipeline queue: let queued commands go first
    const clients = [this.client, this.subscriber].filter((c): c is Redis => c !== null);
    await Promise.allSettled(
      clients.map((c) =>
        c.status === 'ready'
          ? Promise.race([c.quit(), new Promise((resolve) => setTimeout(resolve, 1000).unref())]).finally(() => c.disconnect())
          : c.disconnect(),
      ),
    );
  }

  private async drainAutoPipelines(maxMs: number): Promise<void> {
    const deadline = performance.now() + maxMs;
    while (this.client.status === 'ready' && this.client.autoPipelineQueueSize > 0 && performance.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }
}
