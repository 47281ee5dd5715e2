import { EventEmitter } from 'node:events';
import { AdmitResult, CounterAdjustment, CounterCheck, CounterRef, KvStore, rollingBuckets, slidingUsed, windowBuckets } from './kv';

interface Entry {
  value: string;
  expiresAt: number; // 0 = never
}

/**
 * Single-process store for the embedded default. Every method runs synchronously to completion,
 * which makes `admit` atomic within the process. Expiry uses the wall clock, counters use the caller's clock.
 */
export class MemoryKvStore implements KvStore {
  readonly kind = 'memory' as const;
  private readonly data = new Map<string, Entry>();
  /** rolling-window counters: bucket index → amount, like the hash Redis keeps */
  private readonly rolling = new Map<string, { buckets: Map<number, number>; expiresAt: number }>();
  private readonly bus = new EventEmitter();
  private sweeper: NodeJS.Timeout;

  constructor() {
    this.bus.setMaxListeners(0);
    this.sweeper = setInterval(() => this.sweep(), 30_000);
    this.sweeper.unref();
  }

  async admit(checks: CounterCheck[], nowMs: number, linked?: CounterCheck[]): Promise<AdmitResult> {
    const result = this.admitNow(checks, nowMs);
    if (linked) result.linked = result.ok ? this.admitNow(linked, nowMs) : null;
    return result;
  }

  private admitNow(checks: CounterCheck[], nowMs: number): AdmitResult {
    const states = checks.map((c) => ({ used: this.currentUsed(c, nowMs), limit: c.limit, resetMs: this.resetMs(c, nowMs) }));
    const blocked = checks.findIndex((c, i) => states[i].used + c.cost > c.limit);
    if (blocked !== -1) return { ok: false, blocked, states };
    checks.forEach((c, i) => {
      this.incr(c, c.cost, nowMs, true);
      states[i].used += c.cost;
    });
    return { ok: true, blocked: -1, states };
  }

  async adjust(check: CounterRef, delta: number, nowMs: number): Promise<void> {
    this.adjustOne(check, delta, nowMs);
  }

  async adjustMany(items: readonly CounterAdjustment[], nowMs: number): Promise<number[]> {
    return items.map(({ check, delta }) => {
      const applied = this.adjustOne(check, delta, nowMs);
      return applied && !check.windowMs ? this.currentUsed(check, nowMs) : NaN;
    });
  }

  async peek(checks: Pick<CounterCheck, 'key' | 'windowMs' | 'rolling'>[], nowMs: number): Promise<number[]> {
    return checks.map((c) => this.currentUsed({ key: c.key, windowMs: c.windowMs, rolling: c.rolling }, nowMs)); // missing → 0, as on Redis
  }

  async get(key: string): Promise<string | null> {
    const e = this.data.get(key);
    if (!e) return null;
    if (e.expiresAt && e.expiresAt <= Date.now()) {
      this.data.delete(key);
      return null;
    }
    return e.value;
  }

  async set(key: string, value: string, ttlMs?: number): Promise<void> {
    this.data.set(key, { value, expiresAt: ttlMs ? Date.now() + ttlMs : 0 });
  }

  async del(key: string): Promise<void> {
    this.data.delete(key);
    this.rolling.delete(key);
  }

  async publish(channel: string, message: string): Promise<void> {
    this.bus.emit(channel, message);
  }

  async subscribe(channel: string, handler: (message: string) => void): Promise<void> {
    this.bus.on(channel, handler);
  }

  async ping(): Promise<void> {}

  isConnected(): boolean {
    return true;
  }

  async close(): Promise<void> {
    clearInterval(this.sweeper);
    this.bus.removeAllListeners();
  }

  private num(key: string): number {
    const e = this.data.get(key);
    if (!e || (e.expiresAt && e.expiresAt <= Date.now())) return NaN;
    return Number(e.value);
  }

  private liveRolling(key: string) {
    const h = this.rolling.get(key);
    if (h && h.expiresAt <= Date.now()) {
      this.rolling.delete(key);
      return undefined;
    }
    return h;
  }

  private currentUsed(c: Pick<CounterCheck, 'key' | 'windowMs' | 'rolling' | 'initial'>, nowMs: number): number {
    if (c.rolling) {
      const h = this.liveRolling(c.key);
      if (!h) return c.initial ?? 0;
      const { oldest } = rollingBuckets(c.rolling, nowMs);
      let sum = 0;
      for (const [index, amount] of h.buckets) if (index >= oldest) sum += amount;
      return sum;
    }
    if (c.windowMs) {
      const b = windowBuckets(c.key, c.windowMs, nowMs);
      return slidingUsed(this.num(b.previous) || 0, this.num(b.current) || 0, b.elapsed, c.windowMs);
    }
    const v = this.num(c.key);
    return Number.isNaN(v) ? (c.initial ?? 0) : v;
  }

  private resetMs(c: CounterCheck, nowMs: number): number {
    if (c.rolling) return c.ttlMs ?? 0;
    if (c.windowMs) return c.windowMs - windowBuckets(c.key, c.windowMs, nowMs).elapsed;
    const e = this.data.get(c.key);
    return e?.expiresAt ? Math.max(0, e.expiresAt - Date.now()) : c.ttlMs ?? 0;
  }

  private incr(c: Pick<CounterCheck, 'key' | 'windowMs' | 'rolling' | 'ttlMs' | 'initial'>, delta: number, nowMs: number, admitting = false): void {
    if (c.rolling) {
      const { index, oldest } = rollingBuckets(c.rolling, nowMs);
      let h = this.liveRolling(c.key);
      if (!h) {
        h = { buckets: new Map([[index, c.initial ?? 0]]), expiresAt: Date.now() + (c.ttlMs ?? 0) };
        this.rolling.set(c.key, h);
      }
      h.buckets.set(index, (h.buckets.get(index) ?? 0) + delta);
      if (admitting) {
        for (const b of h.buckets.keys()) if (b < oldest) h.buckets.delete(b);
        h.expiresAt = Date.now() + (c.ttlMs ?? 0);
      }
      return;
    }
    if (c.windowMs) {
      const key = windowBuckets(c.key, c.windowMs, nowMs).current;
      const v = this.num(key);
      const existing = this.data.get(key);
      this.data.set(key, {
        value: String((Number.isNaN(v) ? 0 : v) + delta),
        expiresAt: existing && !Number.isNaN(v) ? existing.expiresAt : Date.now() + 2 * c.windowMs,
      });
      return;
    }
    const v = this.num(c.key);
    const existing = this.data.get(c.key);
    const keep = existing && !Number.isNaN(v);
    this.data.set(c.key, {
      value: String((keep ? v : c.initial ?? 0) + delta),
      expiresAt: keep ? existing!.expiresAt : c.ttlMs ? Date.now() + c.ttlMs : 0,
    });
  }

  /** Like the Redis script: a plain or rolling counter that expired (or never was) is not revived by an adjustment. */
  private adjustOne(c: CounterRef, delta: number, nowMs: number): boolean {
    if (c.rolling ? !this.liveRolling(c.key) : !c.windowMs && Number.isNaN(this.num(c.key))) return false;
    this.incr(c, delta, nowMs);
    return true;
  }

  private sweep(): void {
    const now = Date.now();
    for (const [k, e] of this.data) if (e.expiresAt && e.expiresAt <= now) this.data.delete(k);
    for (const [k, h] of this.rolling) if (h.expiresAt <= now) this.rolling.delete(k);
  }
}
