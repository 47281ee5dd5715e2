import Redis from 'ioredis';
import { AdmitResult, CounterAdjustment, CounterCheck, CounterRef, KvStore, windowBuckets } from './kv';

/**
 * All counters of a request are checked and incremented by one Lua script: one round trip, atomic across
 * every gateway node. Each check passes two keys (current and previous bucket; the same key twice for plain
 * counters) and six arguments: limit, cost, windowMs (0 = plain), elapsed, ttlMs, initial.
 */
const ADMIT = `
local n = #KEYS / 2
local used = {}
local blocked = -1
for i = 1, n do
  local a = (i - 1) * 6
  local limit, cost, win, elapsed = tonumber(ARGV[a+1]), tonumber(ARGV[a+2]), tonumber(ARGV[a+3]), tonumber(ARGV[a+4])
  local u
  if win > 0 then
    local curr = tonumber(redis.call('GET', KEYS[2*i-1]) or '0')
    local prev = tonumber(redis.call('GET', KEYS[2*i]) or '0')
    u = math.floor(prev * (win - elapsed) / win) + curr
  else
    local v = redis.call('GET', KEYS[2*i-1])
    if v then u = tonumber(v) else u = tonumber(ARGV[a+6]) end
  end
  used[i] = u
  if blocked == -1 and u + cost > limit then blocked = i - 1 end
end
local out = {blocked}
for i = 1, n do
  local a = (i - 1) * 6
  local cost, win, ttl = tonumber(ARGV[a+2]), tonumber(ARGV[a+3]), tonumber(ARGV[a+5])
  local k = KEYS[2*i-1]
  if blocked == -1 then
    if win > 0 then
      redis.call('INCRBY', k, cost)
      if redis.call('PTTL', k) < 0 then redis.call('PEXPIRE', k, 2 * win) end
    elseif redis.call('EXISTS', k) == 1 then
      redis.call('INCRBY', k, cost)
    elseif ttl > 0 then
      redis.call('SET', k, used[i] + cost, 'PX', ttl)
    else
      redis.call('SET', k, used[i] + cost)
    end
    used[i] = used[i] + cost
  end
  table.insert(out, used[i])
  if win > 0 then table.insert(out, 0) else table.insert(out, redis.call('PTTL', k)) end
end
return out
`;

/**
 * Adjusts several counters in one round trip: KEYS[i] gets ARGV[2i-1] (the delta) with ARGV[2i] its windowMs
 * (0 = plain counter). A window bucket is created if missing; a plain counter that expired stays absent (it
 * restarts from the database's truth on the next admit, which already counts this request).
 */
const ADJUST_MANY = `
for i = 1, #KEYS do
  local delta, win = ARGV[2*i-1], tonumber(ARGV[2*i])
  if win > 0 then
    redis.call('INCRBY', KEYS[i], delta)
    if redis.call('PTTL', KEYS[i]) < 0 then redis.call('PEXPIRE', KEYS[i], 2 * win) end
  elseif redis.call('EXISTS', KEYS[i]) == 1 then
    redis.call('INCRBY', KEYS[i], delta)
  end
end
return #KEYS
`;

type AdmitFn = (numKeys: number, ...args: (string | number)[]) => Promise<number[]>;
type AdjustManyFn = (numKeys: number, ...args: (string | number)[]) => Promise<number>;

export class RedisKvStore implements KvStore {
  readonly kind = 'redis' as const;
  private readonly client: Redis;
  private subscriber: Redis | null = null;
  private readonly handlers = new Map<string, ((m: string) => void)[]>();
  /** 'unknown' until the first connection completes (commands wait in the offline queue meanwhile) */
  private link: 'unknown' | 'up' | 'down' = 'unknown';

  /**
   * `prefix` namespaces every key and channel (tests use one per file; production `kw:`).
   * Auto-pipelining: the commands that concurrent requests issue in the same event-loop turn share one socket
   * write. Order is kept per client; nothing relies on order across this client and the subscriber.
   */
  constructor(url: string, private readonly prefix = 'kw:') {
    this.client = new Redis(url, { lazyConnect: false, maxRetriesPerRequest: 2, enableOfflineQueue: true, enableAutoPipelining: true });
    this.client.on('error', () => {}); // surfaced through ping() / failed commands; reconnects on its own
    this.client.on('ready', () => (this.link = 'up'));
    this.client.on('close', () => (this.link = 'down'));
    this.client.on('end', () => (this.link = 'down'));
    this.client.defineCommand('kwAdmit', { lua: ADMIT });
    this.client.defineCommand('kwAdjustMany', { lua: ADJUST_MANY });
  }

  async admit(checks: CounterCheck[], nowMs: number): Promise<AdmitResult> {
    const keys: string[] = [];
    const args: (string | number)[] = [];
    for (const c of checks) {
      if (c.windowMs) {
        const b = windowBuckets(this.prefix + c.key, c.windowMs, nowMs);
        keys.push(b.current, b.previous);
        args.push(c.limit, Math.round(c.cost), c.windowMs, b.elapsed, 0, 0);
      } else {
        keys.push(this.prefix + c.key, this.prefix + c.key);
        args.push(c.limit, Math.round(c.cost), 0, 0, c.ttlMs ?? 0, Math.round(c.initial ?? 0));
      }
    }
    const run = (this.client as unknown as { kwAdmit: AdmitFn }).kwAdmit;
    const out = await run.call(this.client, keys.length, ...keys, ...args);
    const blocked = Number(out[0]);
    const states = checks.map((c, i) => {
      const ttl = Number(out[2 + 2 * i]);
      const resetMs = c.windowMs ? c.windowMs - windowBuckets(c.key, c.windowMs, nowMs).elapsed : ttl > 0 ? ttl : 0;
      return { used: Number(out[1 + 2 * i]), limit: c.limit, resetMs };
    });
    return { ok: blocked === -1, blocked, states };
  }

  adjust(check: CounterRef, delta: number, nowMs: number): Promise<void> {
    return this.adjustMany([{ check, delta }], nowMs);
  }

  async adjustMany(items: readonly CounterAdjustment[], nowMs: number): Promise<void> {
    if (items.length === 0) return;
    const keys: string[] = [];
    const args: number[] = [];
    for (const { check, delta } of items) {
      keys.push(check.windowMs ? windowBuckets(this.prefix + check.key, check.windowMs, nowMs).current : this.prefix + check.key);
      args.push(Math.round(delta), check.windowMs ?? 0);
    }
    const run = (this.client as unknown as { kwAdjustMany: AdjustManyFn }).kwAdjustMany;
    await run.call(this.client, keys.length, ...keys, ...args);
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
