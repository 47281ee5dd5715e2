import { ResilientCounters, StoreUnreachableError } from '../../src/limits/resilient-counters';
import { MemoryKvStore } from '../../src/store/memory-kv';
import type { KvStore } from '../../src/store/kv';
import { createLogger } from '../../src/logger';
import { Writable } from 'node:stream';

/** A "Redis" whose calls fail or hang on demand, with the in-process store doing the real work when healthy. */
function flakyStore() {
  const inner = new MemoryKvStore();
  const state = { mode: 'ok' as 'ok' | 'reject' | 'hang' | 'slow', connected: true, calls: 0, slowMs: 300 };
  const run = <T>(fn: () => Promise<T>): Promise<T> => {
    state.calls++;
    if (state.mode === 'reject') return Promise.reject(new Error('ECONNREFUSED'));
    if (state.mode === 'hang') return new Promise<T>(() => {});
    if (state.mode === 'slow') return new Promise<void>((r) => setTimeout(r, state.slowMs)).then(fn);
    return fn();
  };
  const store = {
    kind: 'redis',
    admit: (c, n) => run(() => inner.admit(c, n)),
    adjust: (c, d, n) => run(() => inner.adjust(c, d, n)),
    adjustMany: (items, n) => run(() => inner.adjustMany(items, n)),
    peek: (c, n) => run(() => inner.peek(c, n)),
    isConnected: () => state.connected,
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

  it('treats a lost connection as unreachable at once, without sending a command, and recovers when it is back', async () => {
    const f = flakyStore();
    const { logger } = logSink();
    const c = new ResilientCounters(f.store, logger, { probeIntervalMs: 0 });
    f.state.connected = false;
    const t0 = performance.now();
    await expect(c.admitShared(check, 1000)).rejects.toBeInstanceOf(StoreUnreachableError);
    await expect(c.adjustMany('shared', [{ check: check[0], delta: 1 }], 1000)).rejects.toBeInstanceOf(StoreUnreachableError);
    expect(performance.now() - t0).toBeLessThan(50);
    expect(f.state.calls).toBe(0);
    expect(c.degraded).toBe(true);
    f.state.connected = true;
    expect((await c.admitShared(check, 1000)).ok).toBe(true);
    expect(c.degraded).toBe(false);
    await c.close();
    await f.close();
  });

  it('does not call a connected store unreachable because its answer is read late (a busy event loop)', async () => {
    const f = flakyStore();
    const { logger } = logSink();
    const c = new ResilientCounters(f.store, logger); // the default timeout
    f.state.mode = 'slow';
    expect((await c.admitShared(check, 1000)).ok).toBe(true);
    await c.adjustMany('shared', [{ check: check[0], delta: -1 }], 1000);
    expect(c.degraded).toBe(false);
    expect(await f.store.peek(check, 1000)).toEqual([0]);
    await c.close();
    await f.close();
  });

  it('adjusts the per-node store for an admission made there', async () => {
    const f = flakyStore();
    const { logger } = logSink();
    const c = new ResilientCounters(f.store, logger);
    await c.admitLocal(check, 1000);
    await c.adjustMany('local', [{ check: check[0], delta: 1 }], 1000);
    expect(await c.local.peek(check, 1000)).toEqual([2]);
    expect(f.state.calls).toBe(0);
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
