import http from 'node:http';
import Koa from 'koa';
import { startTestGateway, TestGateway } from '../helpers/gateway';
import { TEST_BACKEND } from '../helpers/backend';
import { makePlan, movableClock, principalFor, tally } from '../helpers/limits';
import { AppError } from '../../src/http/errors';
import { errorHandler } from '../../src/http/error-handler';
import { managementRateLimit } from '../../src/limits/management-rate-limit';
import { creditCounterKey } from '../../src/limits/checks';
import { LimitService } from '../../src/limits/service';
import { RedisKvStore } from '../../src/store/redis-kv';
import type { KvStore } from '../../src/store/kv';

/** The gateway's own store behind a switch: while `down`, every counter call fails like an unreachable Redis. */
function switchableStore(inner: KvStore) {
  const state = { down: false };
  const guard = <A extends unknown[], R>(fn: (...a: A) => Promise<R>) => (...a: A) =>
    state.down ? Promise.reject(new Error('connect ECONNREFUSED')) : fn(...a);
  const store = {
    ...inner,
    kind: 'redis',
    admit: guard(inner.admit.bind(inner)),
    adjust: guard(inner.adjust.bind(inner)),
    adjustMany: guard(inner.adjustMany.bind(inner)),
    peek: guard(inner.peek.bind(inner)),
    isConnected: () => inner.isConnected(),
    subscribe: inner.subscribe.bind(inner),
  } as KvStore;
  return { store, state };
}

const MID_MINUTE = '2030-01-15T12:00:30.000Z';

describe(`limits service (${TEST_BACKEND})`, () => {
  const clock = movableClock(MID_MINUTE);
  let gw: TestGateway;
  let admin: string;
  beforeAll(async () => {
    gw = await startTestGateway({ clock });
    admin = (await gw.user('admin')).token;
  });
  afterAll(() => gw.close());
  beforeEach(() => clock.set(MID_MINUTE));

  const limits = () => gw.deps.limits;
  const req = (estimatedTokens = 0, estimatedCostMicros = 0) => ({ estimatedTokens, estimatedCostMicros });
  const counted = async (metric: 'rateLimited' | 'budgetRefused', labels: Record<string, string>) => {
    const { values } = await gw.deps.metrics[metric].get();
    return values.find((v) => Object.entries(labels).every(([k, x]) => v.labels[k as keyof typeof v.labels] === x))?.value ?? 0;
  };

  it('admits exactly 50 of 100 concurrent requests against 50 per minute, refusing the rest with 429', async () => {
    const p = await principalFor(gw, await makePlan(gw, { rpm: 50 }));
    const before = await counted('rateLimited', { scope: 'key', limit: 'rpm' });
    const { ok, refused } = await tally(Array.from({ length: 100 }, () => limits().admit(p, req())));
    expect(ok.length).toBe(50);
    expect(refused).toEqual({ rate_limited: 50 });
    expect((await counted('rateLimited', { scope: 'key', limit: 'rpm' })) - before).toBe(50);
  });

  it('refuses with Retry-After and the rate-limit headers, naming the limit', async () => {
    const p = await principalFor(gw, await makePlan(gw, { rpm: 1 }));
    await limits().admit(p, req());
    const err: AppError = await limits().admit(p, req()).catch((e) => e);
    expect(err).toBeInstanceOf(AppError);
    expect(err.status).toBe(429);
    expect(err.message).toBe('Rate limit exceeded for this API key: 1 requests per minute. Retry after 60s');
    // 30 s left in this minute's bucket, then the one request drains over a full window (capped at one window)
    expect(err.headers).toMatchObject({ 'retry-after': '60', 'x-ratelimit-limit-requests': '1', 'x-ratelimit-remaining-requests': '0' });
  });

  it("shares the plan's per-user limits between a user's keys; a key's own limit is tighter", async () => {
    const planId = await makePlan(gw, { rpm: 5 });
    const a = await principalFor(gw, planId, { limits: { rpm: 2 } });
    const b = await principalFor(gw, planId, {}, a.userId);
    await limits().admit(a, req());
    await limits().admit(a, req());
    await expect(limits().admit(a, req())).rejects.toMatchObject({ code: 'rate_limited', message: expect.stringContaining('this API key: 2') });
    for (let i = 0; i < 3; i++) await limits().admit(b, req());
    await expect(limits().admit(b, req())).rejects.toMatchObject({ message: expect.stringContaining('this user: 5 requests per minute') });
  });

  it('counts tokens per minute per key and reports them in headers', async () => {
    const p = await principalFor(gw, await makePlan(gw, { rpm: 10, rph: 100, tpm: 1000, monthlyCreditsMicros: 1_000_000 }), {
      limits: { rpm: 4 },
    });
    const a = await limits().admit(p, req(100, 2500));
    expect(a.headers).toEqual({
      'x-ratelimit-limit-requests': '4',
      'x-ratelimit-remaining-requests': '3',
      'x-ratelimit-reset-requests': '45s', // 30 s left in the bucket + 1 request × 15 s
      'x-ratelimit-limit-tokens': '1000',
      'x-ratelimit-remaining-tokens': '900',
      'x-ratelimit-reset-tokens': '36s',
      'x-keywallet-credits-remaining': '0.997500',
    });
    await expect(limits().admit(p, req(901))).rejects.toMatchObject({ code: 'rate_limited', details: { limit: 'tpm' } });
    // a request that needs no tokens is not refused by the token window, and still sees it
    const rest = await limits().admit(p, req(0));
    expect(rest.headers['x-ratelimit-remaining-tokens']).toBe('900');
  });

  it('lets at most 10 of 100 concurrent requests spend a budget that covers 10, never overspending', async () => {
    const p = await principalFor(gw, await makePlan(gw, { monthlyCreditsMicros: 10_000 }));
    const { ok, refused } = await tally(Array.from({ length: 100 }, () => limits().admit(p, req(0, 1000))));
    expect(ok.length).toBe(10);
    expect(refused).toEqual({ insufficient_credits: 90 });
    const [spent] = await gw.deps.kv.peek([{ key: creditCounterKey('user', p.userId, '2030-01') }], clock.now());
    expect(spent).toBe(10_000);
    const err: AppError = await limits().admit(p, req(0, 1000)).catch((e) => e);
    expect(err.status).toBe(402);
    expect(err.message).toMatch(/Monthly credits exhausted for this user: \$0\.010000 of \$0\.010000 used in 2030-01/);
    expect(err.headers?.['x-keywallet-credits-remaining']).toBe('0.000000');
  });

  it("enforces a key's own monthly credits beside the user's", async () => {
    const p = await principalFor(gw, await makePlan(gw, { monthlyCreditsMicros: 1_000_000 }), { monthlyCreditsMicros: 3000 });
    const before = await counted('budgetRefused', { scope: 'key' });
    await limits().admit(p, req(0, 2000));
    await expect(limits().admit(p, req(0, 2000))).rejects.toMatchObject({ code: 'insufficient_credits', details: { scope: 'key' } });
    expect((await counted('budgetRefused', { scope: 'key' })) - before).toBe(1);
  });

  it('refund gives the reservation back; settle moves it to the actual cost and tokens', async () => {
    const p = await principalFor(gw, await makePlan(gw, { tpm: 1000, monthlyCreditsMicros: 5000 }));
    const first = await limits().admit(p, req(800, 3000));
    expect(first.creditsRemainingMicros).toBe(2000);
    await expect(limits().admit(p, req(0, 3000))).rejects.toMatchObject({ code: 'insufficient_credits' });
    await limits().refund(first);
    const second = await limits().admit(p, req(100, 3000));
    await limits().settle(second, { tokens: 50, costMicros: 1000 });
    const third = await limits().admit(p, req(900, 4000));
    expect(third.creditsRemainingMicros).toBe(0);
    expect(third.headers['x-ratelimit-remaining-tokens']).toBe('50');
    // a second settle or refund of the same admission changes nothing
    await limits().refund(second);
    await expect(limits().admit(p, req(0, 1))).rejects.toMatchObject({ code: 'insufficient_credits' });
  });

  it('settles tokens, key credits and user credits in one counter-store call', async () => {
    const kv = gw.deps.kv;
    const svc = new LimitService({ ...gw.deps, kv });
    const p = await principalFor(gw, await makePlan(gw, { tpm: 10_000, monthlyCreditsMicros: 50_000 }), { monthlyCreditsMicros: 20_000 });
    const admitted = await svc.admit(p, req(1000, 8000));
    const many = jest.spyOn(kv, 'adjustMany');
    const one = jest.spyOn(kv, 'adjust');
    try {
      await svc.settle(admitted, { tokens: 400, costMicros: 3000 });
      expect(many).toHaveBeenCalledTimes(1);
      expect(many.mock.calls[0][0]).toHaveLength(3);
      expect(one).not.toHaveBeenCalled();
    } finally {
      many.mockRestore();
      one.mockRestore();
      await svc.close();
    }
    const next = await limits().admit(p, req(9600, 17_000));
    expect(next.creditsRemainingMicros).toBe(0); // the key's 20,000 less 3,000 settled less 17,000
    expect(next.headers['x-ratelimit-remaining-tokens']).toBe('0');
  });

  it('resets credits on the first of the month (UTC)', async () => {
    clock.set('2030-01-31T23:59:30.000Z');
    const p = await principalFor(gw, await makePlan(gw, { monthlyCreditsMicros: 2000 }));
    await limits().admit(p, req(0, 1000));
    await limits().admit(p, req(0, 1000));
    await expect(limits().admit(p, req(0, 1000))).rejects.toMatchObject({ code: 'insufficient_credits' });
    clock.set('2030-02-01T00:00:30.000Z');
    const a = await limits().admit(p, req(0, 1000));
    expect(a.period).toBe('2030-02');
    expect(a.creditsRemainingMicros).toBe(1000);
  });

  it("starts a missing counter from the database's record of this month's spending", async () => {
    const p = await principalFor(gw, await makePlan(gw, { monthlyCreditsMicros: 5000 }), { monthlyCreditsMicros: 10_000 });
    await gw.deps.db('usage_daily').insert([
      { day: '2030-01-03', user_id: p.userId, gateway_key_id: p.keyId, service: 'openai', model: 'a', cost_micros: 3000 },
      { day: '2030-01-04', user_id: p.userId, service: 'stripe', cost_micros: 1500 },
      { day: '2029-12-31', user_id: p.userId, gateway_key_id: p.keyId, service: 'openai', model: 'a', cost_micros: 99_000 },
    ]);
    await expect(limits().admit(p, req(0, 1000))).rejects.toMatchObject({ code: 'insufficient_credits', details: { scope: 'user' } });
    const a = await limits().admit(p, req(0, 500));
    expect(a.creditsRemainingMicros).toBe(0); // user: 3000 + 1500 + 500 of 5000; key: 3000 + 500 of 10 000
  });

  it('applies a plan change to the next admit, even for a principal holding the old plan', async () => {
    const planId = await makePlan(gw, { rpm: 1 });
    const p = await principalFor(gw, planId);
    await limits().admit(p, req());
    await expect(limits().admit(p, req())).rejects.toMatchObject({ code: 'rate_limited' });
    const res = await gw.request(`/plans/${planId}`, { method: 'PATCH', token: admin, body: { rpm: 3 } });
    expect(res.status).toBe(200);
    expect(p.plan.rpm).toBe(1);
    await limits().admit(p, req());
    await limits().admit(p, req());
    await expect(limits().admit(p, req())).rejects.toMatchObject({ message: expect.stringContaining('3 requests per minute') });
  });

  it('keeps no counters and sends no headers for a caller nothing limits', async () => {
    const p = await principalFor(gw, await makePlan(gw, {}));
    const a = await limits().admit(p, req(10_000, 10_000_000));
    expect(a.store).toBe('none');
    expect(a.headers).toEqual({});
    await limits().settle(a, { tokens: 1, costMicros: 1 });
  });

  it('limits management endpoints per IP with a 429 in the management shape', async () => {
    const app = new Koa();
    app.use(errorHandler(gw.deps.logger));
    app.use(managementRateLimit(gw.deps, { perMinute: 3, bucket: 'login' }));
    app.use((ctx) => (ctx.body = { ok: true }));
    const server = http.createServer(app.callback());
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/auth/login`;
    try {
      const before = await counted('rateLimited', { scope: 'login', limit: 'login' });
      const statuses = [];
      for (let i = 0; i < 3; i++) statuses.push((await fetch(url)).status);
      const refused = await fetch(url);
      expect(statuses).toEqual([200, 200, 200]);
      expect(refused.status).toBe(429);
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(((await refused.json()) as { error: unknown }).error).toMatchObject({ code: 'rate_limited', message: expect.stringContaining('3 per minute') });
      expect((await counted('rateLimited', { scope: 'login', limit: 'login' })) - before).toBe(1);
    } finally {
      await new Promise((r) => server.close(r));
    }
  });

  describe('when the shared counter store is unreachable', () => {
    it('refuses credit-limited callers with 503, limits the rest per node, reports degraded, and recovers', async () => {
      const { store, state } = switchableStore(gw.deps.kv);
      const svc = new LimitService({ ...gw.deps, kv: store }, { timeoutMs: 100, probeIntervalMs: 0 });
      const credited = await principalFor(gw, await makePlan(gw, { rpm: 100, monthlyCreditsMicros: 1_000_000 }));
      const rateOnly = await principalFor(gw, await makePlan(gw, { rpm: 3 }));
      const paid = await svc.admit(credited, req(0, 1000));
      state.down = true;
      await svc.settle(paid, { tokens: 0, costMicros: 500 }); // never throws into the request path
      expect(gw.logs.some((l) => l.includes('could not adjust counters'))).toBe(true);
      await expect(svc.admit(credited, req(0, 1000))).rejects.toMatchObject({
        status: 503,
        code: 'service_unavailable',
        message: expect.stringContaining('credit budget store is unreachable'),
      });
      expect(svc.degraded).toBe(true);
      const { ok, refused } = await tally(Array.from({ length: 5 }, () => svc.admit(rateOnly, req())));
      expect(ok.map((a) => a.store)).toEqual(['local', 'local', 'local']);
      expect(refused).toEqual({ rate_limited: 2 });
      await svc.refund(ok[0]);
      expect(gw.logs.filter((l) => l.includes('rate limits are enforced per node')).length).toBe(1);
      state.down = false;
      const back = await svc.admit(rateOnly, req());
      expect(back.store).toBe('shared');
      expect(svc.degraded).toBe(false);
      await svc.close();
    });

    it('detects a Redis that does not listen at once, from the connection state (no short timeout needed)', async () => {
      const dead = new RedisKvStore('redis://127.0.0.1:1', 'kwt:dead:');
      const svc = new LimitService({ ...gw.deps, kv: dead });
      try {
        const credited = await principalFor(gw, await makePlan(gw, { monthlyCreditsMicros: 1_000_000 }));
        const t0 = Date.now();
        await expect(svc.admit(credited, req(0, 1))).rejects.toMatchObject({ code: 'service_unavailable' });
        expect(Date.now() - t0).toBeLessThan(1000);
        const rateOnly = await principalFor(gw, await makePlan(gw, { rpm: 1 }));
        expect((await svc.admit(rateOnly, req())).store).toBe('local');
        await expect(svc.admit(rateOnly, req())).rejects.toMatchObject({ code: 'rate_limited' });
        expect(svc.degraded).toBe(true);
      } finally {
        await svc.close();
        await dead.close();
      }
    });
  });
});
