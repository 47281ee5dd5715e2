import crypto from 'node:crypto';
import { TEST_BACKEND, TEST_REDIS_URL } from '../helpers/backend';
import type { CounterCheck, KvStore } from '../../src/store/kv';
import { MemoryKvStore } from '../../src/store/memory-kv';
import { RedisKvStore } from '../../src/store/redis-kv';

/** Rolling-window budget totals and the values a settle call reads back: the same on Redis and in process. */
const HOUR = 3_600_000;
const T0 = Date.UTC(2030, 0, 15, 12, 30);

describe(`budget counters (${TEST_BACKEND})`, () => {
  let kv: KvStore;
  let n = 0;
  const key = (name: string) => `${name}:${++n}`;
  beforeAll(() => {
    kv = TEST_BACKEND === 'postgres' ? new RedisKvStore(TEST_REDIS_URL, `kwt:bc:${crypto.randomBytes(5).toString('hex')}:`) : new MemoryKvStore();
  });
  afterAll(() => kv.close());

  const rolling = (name: string, limit: number, cost: number, initial = 0): CounterCheck => ({
    key: name, limit, cost, rolling: { bucketMs: HOUR, buckets: 25 }, ttlMs: 26 * HOUR, initial,
  });

  it('sums a rolling window over its buckets, and frees what falls out of it, not before', async () => {
    const k = key('roll');
    expect(await kv.admit([rolling(k, 10, 4)], T0)).toMatchObject({ ok: true, states: [{ used: 4 }] });
    expect(await kv.admit([rolling(k, 10, 4)], T0 + 5 * HOUR)).toMatchObject({ ok: true, states: [{ used: 8 }] });
    expect(await kv.admit([rolling(k, 10, 4)], T0 + 6 * HOUR)).toMatchObject({ ok: false, blocked: 0, states: [{ used: 8 }] });
    // 24 h after the first spend it still counts (the window plus the current bucket)…
    expect(await kv.admit([rolling(k, 10, 4)], T0 + 24 * HOUR)).toMatchObject({ ok: false });
    // …and once its bucket is out of the 25, it is freed, the later spend still counted
    expect(await kv.admit([rolling(k, 10, 4)], T0 + 25 * HOUR)).toMatchObject({ ok: true, states: [{ used: 8 }] });
    expect(await kv.peek([{ key: k, rolling: { bucketMs: HOUR, buckets: 25 } }], T0 + 25 * HOUR)).toEqual([8]);
  });

  it('starts a missing rolling total from its initial value, counted in the current bucket', async () => {
    const k = key('seeded');
    expect(await kv.admit([rolling(k, 10, 3, 6)], T0)).toMatchObject({ ok: true, states: [{ used: 9 }] });
    expect(await kv.admit([rolling(k, 10, 3, 6)], T0 + HOUR)).toMatchObject({ ok: false, states: [{ used: 9 }] });
  });

  it('settles several counters in one call and answers with their values after it', async () => {
    const plain: CounterCheck = { key: key('plain'), limit: 100, cost: 30, ttlMs: 60_000, initial: 10 };
    const roll = rolling(key('r'), 100, 30);
    const window: CounterCheck = { key: key('w'), limit: 100, cost: 5, windowMs: 60_000 };
    await kv.admit([plain, roll, window], T0);
    const values = await kv.adjustMany(
      [
        { check: plain, delta: -12 },
        { check: roll, delta: 7 },
        { check: window, delta: 1 },
        { check: { key: key('absent'), ttlMs: 1000 }, delta: 5 },
        { check: { key: key('absent-r'), rolling: { bucketMs: HOUR, buckets: 25 } }, delta: 5 },
      ],
      T0,
    );
    expect(values.slice(0, 2)).toEqual([28, 37]);
    expect(values.slice(2).every(Number.isNaN)).toBe(true); // a sliding window has no total to report; absent counters stay absent
    expect(await kv.peek([{ key: key('absent-r2'), rolling: { bucketMs: HOUR, buckets: 25 } }], T0)).toEqual([0]);
  });

  it('admits a rolling total together with plain counters all or nothing', async () => {
    const roll = rolling(key('r'), 10, 6);
    const plain: CounterCheck = { key: key('p'), limit: 5, cost: 6, ttlMs: 60_000 };
    expect(await kv.admit([roll, plain], T0)).toMatchObject({ ok: false, blocked: 1 });
    expect(await kv.peek([roll], T0)).toEqual([0]); // nothing taken
  });
});
