import Redis from 'ioredis';
import { AdmitResult, CounterAdjustment, CounterCheck, CounterRef, KvStore, windowBuckets } from './kv';

/**
 * All counters of a request are checked and incremented by one Lua script, atomic across every gateway node. The
 * admits of concurrent requests issued in the same event-loop turn travel together in ONE script call (one command,
 * one round trip): each request's checks are a group, and each group is all-or-nothing on its own, exactly as if
 * the requests had been sent one after another.
 * KEYS are the counters' base keys, one per check, group after group; the numbers travel as ONE argument, a JSON
 * array (cjson decodes it in C, several times cheaper for Redis than splitting a string in Lua; sixty-odd separate
 * arguments cost more to encode on the client): per group its number of checks (negative: a group linked to the one
 * before, tried only when that one was admitted), then seven per check: limit, cost, windowMs (0 = plain), the
 * window's bucket index and elapsed ms, ttlMs and initial (plain counters). The reply is, per group, the index of
 * the blocking check (-1 when admitted) then `used, ttl` per check; a linked group that was not tried is just -2.
 * A window's bucket keys are `<base>:<index>`, built here from the base key: that is fine on a single Redis or
 * Sentinel, not on Redis Cluster (see README).
 */
const ADMIT = `
local f = cjson.decode(ARGV[1])
local out = {}
local p, k0 = 1, 0
local last = -1
while p <= #f do
  local n = f[p]
  local linked = n < 0
  if linked then n = -n end
  if linked and last ~= -1 then
    out[#out + 1] = -2
  else
    -- every counter of the group read with one MGET: a window's current and previous bucket, a plain counter
    local keys, reads = {}, {}
    local nr = 0
    for i = 1, n do
      local a = p + (i - 1) * 7
      local base = KEYS[k0 + i]
      if f[a+3] > 0 then
        keys[i] = base .. ':' .. f[a+4]
        reads[nr + 1] = keys[i]
        reads[nr + 2] = base .. ':' .. (f[a+4] - 1)
        nr = nr + 2
      else
        keys[i] = base
        reads[nr + 1] = base
        nr = nr + 1
      end
    end
    local values = redis.call('MGET', unpack(reads))
    local used, fresh = {}, {}
    local blocked = -1
    local r = 1
    for i = 1, n do
      local a = p + (i - 1) * 7
      local limit, cost, win = f[a+1], f[a+2], f[a+3]
      local u
      if win > 0 then
        local curr = tonumber(values[r] or '0')
        local prev = tonumber(values[r + 1] or '0')
        r = r + 2
        fresh[i] = curr == 0
        u = math.floor(prev * (win - f[a+5]) / win) + curr
      else
        local v = values[r]
        r = r + 1
        fresh[i] = not v
        if v then u = tonumber(v) else u = f[a+7] end
      end
      used[i] = u
      if blocked == -1 and u + cost > limit then blocked = i - 1 end
    end
    out[#out + 1] = blocked
    for i = 1, n do
      local a = p + (i - 1) * 7
      local cost, win, ttl = f[a+2], f[a+3], f[a+6]
      local key = keys[i]
      if blocked == -1 then
        if win > 0 then
          redis.call('INCRBY', key, cost)
          -- a bucket that was empty may be new: it lives two windows (one as current, one as previous)
          if fresh[i] then redis.call('PEXPIRE', key, 2 * win) end
        elseif not fresh[i] then
          redis.call('INCRBY', key, cost)
        elseif ttl > 0 then
          redis.call('SET', key, used[i] + cost, 'PX', ttl)
        else
          redis.call('SET', key, used[i] + cost)
        end
        used[i] = used[i] + cost
      end
      out[#out + 1] = used[i]
      if win > 0 then
        out[#out + 1] = 0
      elseif blocked == -1 and fresh[i] then
        out[#out + 1] = ttl > 0 and ttl or -1
      else
        out[#out + 1] = redis.call('PTTL', key)
      end
    end
    last = blocked
  end
  p = p + 1 + n * 7
  k0 = k0 + n
end
return out
`;

/**
 * Settles several counters in one round trip, and appends the turn's usage events to the usage stream in the same
 * call: KEYS[i] gets the i-th pair of the JSON array ARGV[1] (the delta, then its windowMs; 0 = plain counter); when
 * ARGV[2] (the number of events) is above 0 the last KEY is the stream, ARGV[3] its most entries, and the events
 * follow. A window bucket is created if missing; a plain counter that expired stays absent (it restarts from the
 * database's truth on the next admit, which already counts this request). Events are added in order while the stream
 * has room; the reply is how many were added (the caller spools the rest).
 */
const SETTLE = `
local f = cjson.decode(ARGV[1])
local nev = tonumber(ARGV[2])
local ncounters = #KEYS
if nev > 0 then ncounters = ncounters - 1 end
for i = 1, ncounters do
  local delta, win = f[2*i-1], f[2*i]
  if win > 0 then
    -- the bucket was empty (maybe absent): give it its two windows of life
    if redis.call('INCRBY', KEYS[i], delta) == delta then redis.call('PEXPIRE', KEYS[i], 2 * win) end
  elseif redis.call('EXISTS', KEYS[i]) == 1 then
    redis.call('INCRBY', KEYS[i], delta)
  end
end
if nev == 0 then return 0 end
local stream = KEYS[#KEYS]
local room = tonumber(ARGV[3]) - redis.call('XLEN', stream)
local n = nev
if room < n then n = math.max(room, 0) end
for i = 1, n do redis.call('XADD', stream, '*', 'e', ARGV[3 + i]) end
return n
`;

/** Where the usage events of a settle call go: the stream's full key and its most entries. */
export interface UsageStreamTarget {
  key: string;
  maxLen: number;
}

type AdmitFn = (numKeys: number, ...args: string[]) => Promise<number[]>;
type SettleFn = (numKeys: number, ...args: string[]) => Promise<number>;

/** Adjustments and usage events waiting for the end of the event-loop turn; one script call carries them all. */
interface AdjustBatch {
  keys: string[];
  spec: string;
  /** encoded usage events for the stream */
  events: string[];
  /** resolves with how many of `events` the stream took */
  done: Promise<number>;
  resolve: (accepted: number) => void;
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
  batch.done = new Promise<number>((resolve, reject) => {
    batch.resolve = resolve;
    batch.reject = reject;
  });
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
      if (c.windowMs) {
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
    return this.adjustMany([{ check, delta }], nowMs);
  }

  /**
   * Adjustments made in the same event-loop turn (the settlements and refunds of every request that finished in
   * it) are merged into one script call, sent on setImmediate: per request that is a share of one command instead
   * of one command each. Each caller's promise settles with the call that carried its adjustments.
   */
  adjustMany(items: readonly CounterAdjustment[], nowMs: number): Promise<void> {
    if (items.length === 0) return Promise.resolve();
    const batch = this.settleBatch(items.length, 0);
    for (const { check, delta } of items) {
      batch.keys.push(check.windowMs ? `${this.prefix}${check.key}:${Math.floor(nowMs / check.windowMs)}` : this.prefix + check.key);
      batch.spec += `${batch.spec ? ',' : ''}${Math.round(delta)},${check.windowMs ?? 0}`;
    }
    return batch.done.then(noop);
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
    run.call(this.client, batch.keys.length + (stream ? 1 : 0), ...batch.keys, ...tail).then((n) => batch.resolve(Number(n)), batch.reject);
  }

  /** The connection itself, for the usage stream's consumer group (XREADGROUP, XAUTOCLAIM, XACK). */
  get redis(): Redis {
    return this.client;
  }

  async peek(checks: Pick<CounterCheck, 'key' | 'windowMs'>[], nowMs: number): Promise<number[]> {
    if (checks.length === 0) return [];
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
