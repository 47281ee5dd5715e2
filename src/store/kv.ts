/**
 * Counters, caches and pub/sub shared by every gateway node: Redis in production, an in-process
 * store on the embedded default. Both implementations pass the same test suite (test/integration/kv.test.ts).
 */

/**
 * One counter checked by `admit`.
 * - With `windowMs`: a sliding-window counter (two fixed buckets, the previous one weighted by how much
 *   of it still overlaps the window). `used` is the weighted count.
 * - With `rolling`: a rolling-window total (a budget over the last 24 h, 7 d, 30 d): one hash per counter whose
 *   fields are time buckets (`floor(now / bucketMs)`); `used` is the sum of the newest `buckets` of them (the
 *   current one included), older fields are deleted as they fall out. Expires `ttlMs` after its last admit and,
 *   when absent, starts from `initial` (put in the current bucket).
 * - Otherwise: a plain counter (credits spent, monthly quotas) that expires after `ttlMs`
 *   and, when absent, starts from `initial` (so a counter lost with Redis restarts from the database's truth).
 */
export interface CounterCheck {
  key: string;
  limit: number;
  cost: number;
  windowMs?: number;
  rolling?: RollingWindow;
  ttlMs?: number;
  initial?: number;
}

export interface RollingWindow {
  bucketMs: number;
  /** how many buckets, the current one included, make up the total */
  buckets: number;
}

export interface CounterState {
  used: number; // after this request when admitted, before it when refused
  limit: number;
  resetMs: number; // ms until the window frees capacity (0 for plain counters without a ttl)
}

export interface AdmitResult {
  ok: boolean;
  /** index of the first check that would exceed its limit, -1 when admitted */
  blocked: number;
  states: CounterState[];
  /**
   * The `linked` checks' own result (all-or-nothing among themselves) when they were passed and these checks were
   * admitted; null when these were refused, so the linked ones were not even tried.
   */
  linked?: AdmitResult | null;
}

/** Which counter an adjustment goes to: the same key and window as when it was admitted. */
export type CounterRef = Pick<CounterCheck, 'key' | 'windowMs' | 'ttlMs' | 'rolling'>;

export interface CounterAdjustment {
  check: CounterRef;
  /** may be negative: refunds, settling an estimate */
  delta: number;
}

export interface KvStore {
  readonly kind: 'redis' | 'memory';
  /**
   * All-or-nothing: either every counter is incremented by its cost, or none is. Atomic across nodes.
   * `linked` checks are tried in the same atomic step only when `checks` were admitted, and are all-or-nothing among
   * themselves (a request's rate limits, then its wallet entry's quota: one round trip, and no quota is taken for a
   * refused request).
   */
  admit(checks: CounterCheck[], nowMs: number, linked?: CounterCheck[]): Promise<AdmitResult>;
  /** Adds delta to a counter admitted at `nowMs`. A plain counter that has expired meanwhile stays absent. */
  adjust(check: CounterRef, delta: number, nowMs: number): Promise<void>;
  /**
   * Several adjustments of counters admitted at `nowMs` in one round trip (settling a request: tokens and credits).
   * Resolves with each plain or rolling counter's value after its adjustment, in the same call (NaN for a sliding
   * window, and for a plain counter that was absent, so not revived).
   */
  adjustMany(items: readonly CounterAdjustment[], nowMs: number): Promise<number[]>;
  /** Current value of counters without changing them (missing → 0). */
  peek(checks: Pick<CounterCheck, 'key' | 'windowMs' | 'rolling'>[], nowMs: number): Promise<number[]>;
  get(key: string): Promise<string | null>;
  set(key: string, value: string, ttlMs?: number): Promise<void>;
  del(key: string): Promise<void>;
  publish(channel: string, message: string): Promise<void>;
  subscribe(channel: string, handler: (message: string) => void): Promise<void>;
  ping(): Promise<void>;
  /**
   * False once the connection to the shared store is known to be lost, until it is back: callers treat the store
   * as unreachable at once instead of waiting for a command to time out. Always true for the in-process store.
   */
  isConnected(): boolean;
  close(): Promise<void>;
}

/** Bucket keys of a sliding window at `nowMs`: [current, previous] plus the elapsed fraction. */
export function windowBuckets(key: string, windowMs: number, nowMs: number) {
  const index = Math.floor(nowMs / windowMs);
  const elapsed = nowMs - index * windowMs;
  return { current: `${key}:${index}`, previous: `${key}:${index - 1}`, elapsed };
}

export function slidingUsed(prev: number, curr: number, elapsed: number, windowMs: number): number {
  return Math.floor((prev * (windowMs - elapsed)) / windowMs) + curr;
}

/** The bucket a rolling counter takes at `nowMs`, and the oldest bucket its total still counts. */
export function rollingBuckets(r: RollingWindow, nowMs: number): { index: number; oldest: number } {
  const index = Math.floor(nowMs / r.bucketMs);
  return { index, oldest: index - r.buckets + 1 };
}
