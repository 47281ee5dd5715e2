import type { Logger } from '../logger';
import type { AdmitResult, CounterAdjustment, CounterCheck, KvStore } from '../store/kv';
import { guardedStore } from './guarded-store';
import { MemoryKvStore } from '../store/memory-kv';

export type CounterStore = 'shared' | 'local';

export class StoreUnreachableError extends Error {
  constructor(cause: unknown) {
    super('the shared counter store is unreachable', { cause });
    this.name = 'StoreUnreachableError';
  }
}

/** A shared-store call in flight, failed by the watchdog if it takes longer than the timeout. */
interface Waiting {
  startedAt: number;
  fail(err: unknown): void;
}

export interface ResilienceOptions {
  /**
   * A shared-store call still unanswered after this long counts as unreachable. Generous on purpose: Redis answers
   * in well under a millisecond, but a node whose own event loop is saturated reads that answer late, and that is
   * no reason to refuse. A lost connection is noticed at once from the connection state instead (KvStore.isConnected).
   */
  timeoutMs?: number;
  /** after a failure, calls skip the shared store for this long instead of each waiting for the timeout */
  probeIntervalMs?: number;
  /** how often the "degraded" warning is repeated while it lasts */
  warnIntervalMs?: number;
}

/**
 * The shared counter store (Redis) guarded by its connection state, a timeout and a short circuit breaker, with an
 * in-process store beside it for the rate-limit fallback. Timing here is wall-clock (performance.now), not the
 * injected clock: it measures the network, not the billing period.
 *
 * A shared call that times out may still be applied by Redis later; the counter then holds one request (or one
 * reservation) too many until its window or month ends. Rare, and it errs on the side of refusing.
 */
export class ResilientCounters {
  readonly local = new MemoryKvStore();
  private readonly timeoutMs: number;
  private readonly probeIntervalMs: number;
  private readonly warnIntervalMs: number;
  private failedAt: number | null = null;
  private lastWarnAt = -Infinity;
  private lastRecoveryLog = -Infinity;
  private readonly waiting = new Set<Waiting>();
  private watchdog: NodeJS.Timeout | null = null;

  constructor(private readonly shared: KvStore, private readonly logger: Logger, opts: ResilienceOptions = {}) {
    this.timeoutMs = opts.timeoutMs ?? 2500;
    this.probeIntervalMs = opts.probeIntervalMs ?? 1000;
    this.warnIntervalMs = opts.warnIntervalMs ?? 60_000;
  }

  /**
   * True while the shared store's connection is down or the last attempt to reach it failed: rate limits and quotas
   * are per node, credits refused.
   */
  get degraded(): boolean {
    return this.failedAt !== null || !this.shared.isConnected();
  }

  /**
   * The shared store behind this same guard, for the request path's other calls (wallet-entry quotas, cooldowns):
   * each fails with StoreUnreachableError at once while the connection is down or the circuit is open, and after
   * timeoutMs at most otherwise — never waiting in the client's offline queue.
   */
  readonly store: KvStore = guardedStore(this);

  /**
   * Throws StoreUnreachableError when the shared store's connection is down, or the call fails, times out, or one
   * failed less than a probe interval ago.
   */
  admitShared(checks: CounterCheck[], nowMs: number, linked?: CounterCheck[]): Promise<AdmitResult> {
    return this.guard(() => this.shared.admit(checks, nowMs, linked));
  }

  admitLocal(checks: CounterCheck[], nowMs: number): Promise<AdmitResult> {
    return this.local.admit(checks, nowMs);
  }

  /** All adjustments of one request in one call (one round trip to the shared store). */
  adjustMany(store: CounterStore, items: readonly CounterAdjustment[], nowMs: number): Promise<number[]> {
    if (store === 'local') return this.local.adjustMany(items, nowMs);
    return this.guard(() => this.shared.adjustMany(items, nowMs));
  }

  peekShared(checks: Pick<CounterCheck, 'key' | 'windowMs' | 'rolling'>[], nowMs: number): Promise<number[]> {
    return this.guard(() => this.shared.peek(checks, nowMs));
  }

  async close(): Promise<void> {
    if (this.watchdog) clearInterval(this.watchdog);
    this.watchdog = null;
    await this.local.close();
  }

  /** The underlying shared store (what `store` guards). */
  get unguarded(): KvStore {
    return this.shared;
  }

  /** Runs one shared-store call under the guard: connection state, circuit, timeout. */
  guard<T>(call: () => Promise<T>): Promise<T> {
    if (this.shared.kind === 'memory') return call();
    // A lost connection is refused without tripping the circuit: once the client has reconnected (it retries every
    // 100 ms) the next call goes through, so a node is back on the shared counters as soon as Redis is.
    if (!this.shared.isConnected()) return Promise.reject(this.failed(new Error('not connected'), false));
    if (this.failedAt !== null && performance.now() - this.failedAt < this.probeIntervalMs) {
      return Promise.reject(new StoreUnreachableError(new Error('circuit open')));
    }
    return new Promise<T>((resolve, reject) => {
      const waiting: Waiting = { startedAt: performance.now(), fail: (err) => reject(this.failed(err)) };
      this.waiting.add(waiting);
      this.watch();
      call().then(
        (result) => {
          if (!this.waiting.delete(waiting)) return; // already timed out
          if (this.failedAt !== null || this.lastWarnAt > this.lastRecoveryLog) {
            this.failedAt = null;
            this.lastRecoveryLog = performance.now();
            this.logger.info('limits: the shared counter store is reachable again; cluster-wide limits restored');
          }
          resolve(result);
        },
        (err: unknown) => {
          if (this.waiting.delete(waiting)) waiting.fail(err);
        },
      );
    });
  }

  /**
   * One timer for every call in flight, instead of a timer and a Promise.race per call: it fails the calls older
   * than the timeout, checking a few times per timeout, and stops when none is left.
   */
  private watch(): void {
    if (this.watchdog) return;
    this.watchdog = setInterval(() => {
      const now = performance.now();
      for (const w of this.waiting) {
        if (now - w.startedAt < this.timeoutMs) continue;
        this.waiting.delete(w);
        w.fail(new Error(`no answer within ${this.timeoutMs} ms`));
      }
      if (this.waiting.size === 0 && this.watchdog) {
        clearInterval(this.watchdog);
        this.watchdog = null;
      }
    }, Math.max(10, Math.min(500, this.timeoutMs / 5)));
    this.watchdog.unref();
  }

  private failed(err: unknown, trip = true): StoreUnreachableError {
    const now = performance.now();
    if (trip) this.failedAt = now;
    if (now - this.lastWarnAt >= this.warnIntervalMs) {
      this.lastWarnAt = now;
      this.logger.warn(
        { reason: (err as Error)?.message },
        'limits: the shared counter store is unreachable; rate limits are enforced per node, credit-limited requests are refused',
      );
    }
    return new StoreUnreachableError(err);
  }
}
