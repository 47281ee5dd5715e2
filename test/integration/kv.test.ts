import crypto from 'node:crypto';
import Redis from 'ioredis';
import { TEST_BACKEND, TEST_REDIS_URL } from '../helpers/backend';
import type { CounterCheck, KvStore } from '../../src/store/kv';
import { MemoryKvStore } from '../../src/store/memory-kv';
import { RedisKvStore } from '../../src/store/redis-kv';

/** The backend's own store (Redis on postgres, in-process on embedded): both must behave the same. */
function openStore(prefix = `kwt:kv:${crypto.randomBytes(5).toString('hex')}:`): KvStore {
  return TEST_BACKEND === 'postgres' ? new RedisKvStore(TEST_REDIS_URL, prefix) : new MemoryKvStore();
}

const T0 = Date.UTC(2030, 0, 15, 12, 0, 30); // mid-minute: sliding windows have a previous bucket

describe(`kv store (${TEST_BACKEND})`, () => {
  let kv: KvStore;
  let n = 0;
  const key = (name: string) => `${name}:${++n}`;
  beforeAll(() => {
    kv = openStore();
  });
  afterAll(() => kv.close());

  it('admits all counters or none, reporting the one that would overflow', async () => {
    const a: CounterCheck = { key: key('a'), limit: 3, cost: 2, windowMs: 60_000 };
    const b: CounterCheck = { key: key('b'), limit: 10, cost: 4, ttlMs: 60_000, initial: 5 };
    expect(await kv.admit([a, b], T0)).toMatchObject({ ok: true, blocked: -1, states: [{ used: 2 }, { used: 9 }] });
    const refused = await kv.admit([a, b], T0);
    expect(refused).toMatchObject({ ok: false, blocked: 0, states: [{ used: 2, limit: 3 }, { used: 9, limit: 10 }] });
    expect(await kv.peek([a, b], T0)).toEqual([2, 9]); // nothing taken by the refusal
  });

  it('adjustMany applies every adjustment in one call, to the buckets of the admission time', async () => {
    const window: CounterCheck = { key: key('tpm'), limit: 1000, cost: 600, windowMs: 60_000 };
    const credits: CounterCheck = { key: key('cred'), limit: 10_000, cost: 5000, ttlMs: 3_600_000 };
    const other: CounterCheck = { key: key('cred'), limit: 10_000, cost: 5000, ttlMs: 3_600_000, initial: 100 };
    await kv.admit([window, credits, other], T0);
    await kv.adjustMany(
      [
        { check: window, delta: -500 },
        { check: credits, delta: -4000 },
        { check: other, delta: 250 },
      ],
      T0,
    );
    expect(await kv.peek([window, credits, other], T0)).toEqual([100, 1000, 5350]);
    // settling 20 s later still corrects the bucket the request was counted in
    await kv.adjustMany([{ check: window, delta: -100 }], T0 + 20_000);
    await kv.adjustMany([{ check: window, delta: 40 }], T0);
    expect(await kv.peek([window], T0)).toEqual([40]);
    await kv.adjustMany([], T0); // nothing to do, no error
  });

  it('adjustments do not revive a plain counter that is gone, but create a missing window bucket', async () => {
    const plain = { key: key('gone'), ttlMs: 60_000 };
    const window = { key: key('win'), windowMs: 60_000 };
    await kv.adjustMany([{ check: plain, delta: -300 }, { check: window, delta: 7 }], T0);
    await kv.adjust(plain, 5, T0);
    expect(await kv.peek([plain, window], T0)).toEqual([0, 7]);
    // the next admission starts from the database's truth, not from a stray adjustment
    expect((await kv.admit([{ ...plain, limit: 100, cost: 1, initial: 40 }], T0)).states[0].used).toBe(41);
  });

  it('keeps concurrent admissions exact (200 against a limit of 50)', async () => {
    const c: CounterCheck = { key: key('race'), limit: 50, cost: 1, windowMs: 60_000 };
    const results = await Promise.all(Array.from({ length: 200 }, () => kv.admit([c], T0)));
    expect(results.filter((r) => r.ok)).toHaveLength(50);
    expect(await kv.peek([c], T0)).toEqual([50]);
  });

  it('admits issued together are each all-or-nothing, in order, as if sent one after another', async () => {
    const shared: CounterCheck = { key: key('shared'), limit: 5, cost: 3, windowMs: 60_000 };
    const own = (name: string): CounterCheck => ({ key: key(name), limit: 100, cost: 10, ttlMs: 60_000, initial: 1 });
    const [mine, theirs, third] = [own('mine'), own('theirs'), own('third')];
    const results = await Promise.all([
      kv.admit([mine, shared], T0), // admitted: shared 3/5
      kv.admit([theirs, shared], T0), // refused on `shared` (3 + 3 > 5): `theirs` is not taken either
      kv.admit([third], T0), // unrelated, admitted
      kv.admit([], T0), // nothing to check
    ]);
    expect(results[0]).toMatchObject({ ok: true, blocked: -1, states: [{ used: 11, limit: 100 }, { used: 3, limit: 5 }] });
    expect(results[1]).toMatchObject({ ok: false, blocked: 1, states: [{ used: 1 }, { used: 3 }] });
    expect(results[2]).toMatchObject({ ok: true, blocked: -1, states: [{ used: 11 }] });
    expect(results[3]).toEqual({ ok: true, blocked: -1, states: [] });
    expect(await kv.peek([mine, theirs, shared, third], T0)).toEqual([11, 0, 3, 11]);
    // a plain counter with a ttl reports when it resets; a window reports when its bucket ends
    expect(results[0].states[0].resetMs).toBeGreaterThan(0);
    expect(results[0].states[1].resetMs).toBe(30_000);
  });

  it('tries linked checks only when the checks before them were admitted, in the same atomic step', async () => {
    const rate: CounterCheck = { key: key('rate'), limit: 2, cost: 1, windowMs: 60_000 };
    const quota: CounterCheck = { key: key('quota'), limit: 2, cost: 1, ttlMs: 60_000 };
    const first = await kv.admit([rate], T0, [quota]);
    expect(first).toMatchObject({ ok: true, linked: { ok: true, blocked: -1, states: [{ used: 1, limit: 2 }] } });
    const [second, third] = await Promise.all([kv.admit([rate], T0, [quota]), kv.admit([rate], T0, [quota])]);
    expect(second).toMatchObject({ ok: true, linked: { ok: true, states: [{ used: 2 }] } });
    expect(third).toMatchObject({ ok: false, blocked: 0, linked: null }); // refused: the quota was not touched
    expect(await kv.peek([rate, quota], T0)).toEqual([2, 2]);
    // admitted, but the linked quota is full: the rate limit counts the request, the quota stays
    const other: CounterCheck = { ...rate, key: key('rate'), limit: 10 };
    const full = await kv.admit([other], T0, [quota]);
    expect(full).toMatchObject({ ok: true, linked: { ok: false, blocked: 0, states: [{ used: 2 }] } });
    expect(await kv.peek([other, quota], T0)).toEqual([1, 2]);
    // nothing to check before: the linked checks alone decide
    expect(await kv.admit([], T0, [{ ...quota, key: key('q') }])).toMatchObject({ ok: true, linked: { ok: true, states: [{ used: 1 }] } });
  });

  it('reports a healthy store as connected', async () => {
    await kv.ping();
    expect(kv.isConnected()).toBe(true);
  });

  it('applies adjustments issued just before close (queued commands go before QUIT)', async () => {
    const prefix = `kwt:kv:${crypto.randomBytes(5).toString('hex')}:`;
    const writer = openStore(prefix);
    const c: CounterCheck = { key: key('late'), limit: 100, cost: 10, ttlMs: 60_000 };
    await writer.admit([c], T0);
    const pending = writer.adjustMany([{ check: c, delta: -4 }], T0);
    await writer.close();
    await pending;
    const reader = TEST_BACKEND === 'postgres' ? openStore(prefix) : writer;
    try {
      expect(await reader.peek([c], T0)).toEqual([6]);
    } finally {
      if (reader !== writer) await reader.close();
    }
  });

  if (TEST_BACKEND === 'postgres') {
    it('every counter Redis holds expires: window buckets after two windows, plain counters after their ttl', async () => {
      const prefix = `kwt:kv:${crypto.randomBytes(5).toString('hex')}:`;
      const store = openStore(prefix);
      const redis = new Redis(TEST_REDIS_URL);
      try {
        const win: CounterCheck = { key: 'w', limit: 10, cost: 1, windowMs: 60_000 };
        const plain: CounterCheck = { key: 'p', limit: 10, cost: 1, ttlMs: 30_000 };
        const first = await store.admit([win, plain], T0);
        expect(first.states[1].resetMs).toBe(30_000); // a new plain counter: its ttl, without asking Redis
        await store.admit([win, plain], T0);
        await store.adjustMany([{ check: { key: 'w2', windowMs: 60_000 }, delta: 5 }], T0); // a bucket made by an adjustment
        const index = Math.floor(T0 / 60_000);
        for (const k of [`w:${index}`, `w2:${index}`]) {
          const ttl = await redis.pttl(prefix + k);
          expect(ttl).toBeGreaterThan(60_000);
          expect(ttl).toBeLessThanOrEqual(120_000);
        }
        const plainTtl = await redis.pttl(prefix + 'p');
        expect(plainTtl).toBeGreaterThan(0);
        expect(plainTtl).toBeLessThanOrEqual(30_000);
        expect(await redis.get(prefix + 'p')).toBe('2');
      } finally {
        redis.disconnect();
        await store.close();
      }
    });
  }

  if (TEST_BACKEND === 'postgres') {
    it('knows at once that a Redis which does not listen is not connected', async () => {
      const dead = new RedisKvStore('redis://127.0.0.1:1', 'kwt:kv:dead:');
      try {
        const deadline = Date.now() + 2000;
        while (dead.isConnected() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
        expect(dead.isConnected()).toBe(false);
      } finally {
        await dead.close();
      }
    });
  }
});
