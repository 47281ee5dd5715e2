import { ResilientCounters, StoreUnreachableError } from '../../src/limits/resilient-counters';
import { MemoryKvStore } from '../../src/store/memory-kv';
import type { KvStore } from '../../src/store/kv';
import { createLogger } from '../../src/logger';
import { Writable } from 'node:stream';

/** A "Redis" whose calls fail or hang on demand, with the in-process store doing the real work when healthy. */
function flakyStore() {
  const inner = new MemoryKvStore();
  const state = { mode: 'ok' as 'ok' | 'reject' | 'hang', calls: 0 };
  const run = <T>(fn: () => Promise<T>): Promise<T> => {
    state.calls++;
    if (state.mode === 'reject') return Promise.reject(new Error('ECONNREFUSED'));
    if (state.mode === 'hang') return new Promise<T>(() => {});
    return fn();
  };
  const store = {
    kind: 'redis',
    admit: (c, n) => run(() => inner.admit(c, n)),
    adjust: (c, d, n) => run(() => inner.adjust(c, d, n)),
    peek: (c, n) => run(() => inner.peek(c, n)),
  } as Partial<KvStore> as KvStore;
  return { store, state, close: () => inner.close() };
}

function logSink() {
  const lines: string[] = [];
  const logger = createLogger('debug', new Writable({ write: (c, _e, cb) => (lines.push(String(c)), cb()) }));
  return { logger, lines };
}

const check = [{ key: 'w', limit: 2, cost: 1, windowMs: 60_000 }];

describe('resilient counters', () => {
  it('uses the shared store while it answers', async () => {
    const f = flakyStore();
    const { logger } = logSink();
    const c = new ResilientCounters(f.store, logger, { timeoutMs: 50, probeIntervalMs: 100 });
    expect((await c.admitShared(check, 1000)).ok).toBe(true);
    expect(c.degraded).toBe(false);
    await c.close();
    await f.close();
  });

  it('turns failures and timeouts into StoreUnreachableError, degrades, and warns once per interval', async () => {
    const f = flakyStore();
    const { logger, lines } = logSink();
    const c = new ResilientCounters(f.store, logger, { timeoutMs: 30, probeIntervalMs: 0, warnIntervalMs: 60_000 });
    f.state.mode = 'hang';
    const t0 = performance.now();
    await expect(c.admitShared(check, 1000)).rejects.toBeInstanceOf(StoreUnreachableError);
    expect(performance.now() - t0).toBeLessThan(500);
    f.state.mode = 'reject';
    await expect(c.admitShared(check, 1000)).rejects.toBeInstanceOf(StoreUnreachableError);
    expect(c.degraded).toBe(true);
    expect(lines.filter((l) => l.includes('unreachable')).length).toBe(1);
    f.state.mode = 'ok';
    expect((await c.admitShared(check, 1000)).ok).toBe(true);
    expect(c.degraded).toBe(false);
    expect(lines.some((l) => l.includes('reachable again'))).toBe(true);
    await c.close();
    await f.close();
  });

  it('skips the shared store for a probe interval after a failure, then tries again', async () => {
    const f = flakyStore();
    const { logger } = logSink();
    const c = new ResilientCounters(f.store, logger, { timeoutMs: 30, probeIntervalMs: 150 });
    f.state.mode = 'reject';
    await expect(c.admitShared(check, 1000)).rejects.toThrow(StoreUnreachableError);
    f.state.mode = 'ok';
    const before = f.state.calls;
    await expect(c.admitShared(check, 1000)).rejects.toThrow(StoreUnreachableError);
    expect(f.state.calls).toBe(before);
    await new Promise((r) => setTimeout(r, 200));
    expect((await c.admitShared(check, 1000)).ok).toBe(true);
    expect(f.state.calls).toBe(before + 1);
    await c.close();
    await f.close();
  });

  it('keeps a bounded per-node count in its local store', async () => {
    const f = flakyStore();
    const { logger } = logSink();
    const c = new ResilientCounters(f.store, logger);
    const results = await Promise.all([1, 2, 3].map(() => c.admitLocal(check, 1000)));
    expect(results.map((r) => r.ok)).toEqual([true, true, false]);
    await c.close();
    await f.close();
  });
});
