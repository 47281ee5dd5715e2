import pino from 'pino';
import { AdmissionGate, type GatewayCall } from '../../src/gateway/call';
import { AppError } from '../../src/http/errors';
import type { Admission } from '../../src/limits/service';
import { createMetrics } from '../../src/metrics/metrics';
import { CooldownTracker } from '../../src/routing/cooldown';
import { quotaCounter } from '../../src/routing/quota';
import { AttemptOutcome, Router, RouteRequest } from '../../src/routing/router';
import type { Service } from '../../src/services/service';
import { MemoryKvStore } from '../../src/store/memory-kv';
import type { WalletEntry } from '../../src/wallet/repository';

const logger = pino({ level: 'silent' });

function entry(id: string, over: Partial<WalletEntry> = {}): WalletEntry {
  return {
    id, service: 'svc', label: id, tier: 'paid', priority: 100, weight: 1, environment: 'live', status: 'active',
    statusReason: null, teamId: null, secretHint: '…', keyVersion: 1, quota: null, metadata: {}, createdBy: null, lastUsedAt: null,
    invalidAt: null, createdAt: new Date(0), updatedAt: new Date(0), ...over,
  };
}

const service: Service = {
  slug: 'svc', name: 'Svc', kind: 'rest', baseUrl: 'https://api.example.com', auth: { type: 'bearer' }, keyPattern: null,
  costPerCallMicros: 0, timeoutMs: 200, allowPrivate: false, credentialCheck: { method: 'GET', path: '/v1/me' }, builtin: false, enabled: true, metadata: {},
  createdAt: new Date(0), updatedAt: new Date(0),
};

const req: RouteRequest = { service: 'svc', environment: 'live', quotaCost: { requests: 1, tokens: 0, creditsMicros: 0 } };
const ok = <T>(value: T): AttemptOutcome<T> => ({ kind: 'ok', value, status: 200 });

describe('Router', () => {
  let kv: MemoryKvStore;
  let entries: WalletEntry[];
  let wallet: { openSecret: jest.Mock; markInvalid: jest.Mock };
  let prober: { suspect: jest.Mock };
  let router: Router;
  let now: number;
  let metrics: ReturnType<typeof createMetrics>;

  beforeEach(async () => {
    kv = new MemoryKvStore();
    now = Date.now();
    const clock = { now: () => now };
    entries = [];
    wallet = {
      openSecret: jest.fn(async (e: WalletEntry) => `secret-of-${e.id}`),
      markInvalid: jest.fn(async (id: string) => {
        const e = entries.find((x) => x.id === id)!;
        e.status = 'invalid';
        return true;
      }),
    };
    const cooldowns = new CooldownTracker(kv, clock, logger);
    await cooldowns.start();
    prober = { suspect: jest.fn() };
    metrics = createMetrics({ collectDefault: false });
    router = new Router({
      clock, logger, metrics, kv,
      services: { get: (slug) => (slug === 'svc' ? service : undefined) },
      wallet,
      candidates: {
        active: async (s, env) => entries.filter((e) => e.service === s && e.environment === env && e.status === 'active'),
        all: async (s, env) => entries.filter((e) => e.service === s && e.environment === env),
      },
      cooldowns,
      prober,
      defaultTimeoutMs: 1000,
      random: () => 0,
    });
  });
  afterEach(() => kv.close());

  it('routes to the first candidate and reports the decision', async () => {
    entries.push(entry('b', { priority: 2 }), entry('a', { priority: 1 }));
    const seen: string[] = [];
    const result = await router.route(req, async (a) => {
      seen.push(a.secret);
      expect(a.signal.aborted).toBe(false);
      return ok('answer');
    });
    expect(result).toMatchObject({ value: 'answer', attempts: 1, entry: { id: 'a' } });
    expect(seen).toEqual(['secret-of-a']);
    expect(result.decision).toBe('a:ok; 2 candidates');
  });

  it('counts attempts by outcome, and a fallback only when routing moves on', async () => {
    entries.push(entry('a', { priority: 1 }), entry('b', { priority: 2 }));
    await router.route(req, async (a) => (a.entry.id === 'a' ? { kind: 'retry', reason: 'server_error', status: 502 } : ok(1)));
    await router.route(req, async () => ({ kind: 'retry', reason: 'rate_limited', status: 429 })).catch(() => undefined);
    const text = await metrics.registry.metrics();
    expect(text).toContain('keywallet_upstream_attempts_total{service="svc",outcome="server_error"} 1');
    expect(text).toContain('keywallet_upstream_attempts_total{service="svc",outcome="ok"} 1');
    // a was cooling down for the second request: b alone was tried and failed, with nothing left to move on to
    expect(text).toContain('keywallet_upstream_attempts_total{service="svc",outcome="rate_limited"} 1');
    expect(text).toContain('keywallet_fallbacks_total{service="svc",reason="server_error"} 1');
    expect(text).not.toContain('keywallet_fallbacks_total{service="svc",reason="rate_limited"}');
    expect(text).toMatch(/keywallet_wallet_entry_up\{entry_id="b",service="svc"\} 0/);
  });

  it('fills in the gateway call as it goes', async () => {
    entries.push(entry('a', { priority: 1 }), entry('b', { priority: 2 }));
    const admission = new AdmissionGate(async () => ({}) as Admission);
    const call = { walletEntryId: null, attempts: 0, service: null, upstreamLatencyMs: null, admission } as never as GatewayCall;
    await router.route(req, async (a) => (a.entry.id === 'a' ? { kind: 'retry', reason: 'server_error', status: 500 } : ok(1)), call);
    expect(call).toMatchObject({ walletEntryId: 'b', attempts: 2, service: 'svc' });
    expect(call.upstreamLatencyMs).toEqual(expect.any(Number));
  });

  it("admits the gateway call first, with the first entry's quota in the same step, and takes no quota for a refused call", async () => {
    entries.push(entry('q', { quota: { limit: 5, unit: 'requests', period: 'day' } }));
    const rate = { key: 'rl:test', limit: 1, cost: 1, windowMs: 60_000 };
    const steps: number[] = [];
    const gate = () =>
      new AdmissionGate(async (linked) => {
        steps.push(linked?.length ?? 0);
        const result = await kv.admit([rate], now, linked);
        if (!result.ok) throw new AppError('rate_limited', 'slow down');
        return { linked: result.linked ?? undefined } as Admission;
      });
    const callWith = (admission: AdmissionGate) => ({ walletEntryId: null, attempts: 0, service: null, admission }) as never as GatewayCall;
    const served = await router.route(req, async () => ok(1), callWith(gate()));
    expect(served.entry.id).toBe('q');
    expect(steps).toEqual([1]); // one admission, carrying the quota check
    const quota = quotaCounter('q', entries[0].quota!, now, 0);
    expect(await kv.peek([quota], now)).toEqual([1]);
    const attempt = jest.fn(async () => ok(2));
    await expect(router.route(req, attempt, callWith(gate()))).rejects.toMatchObject({ code: 'rate_limited' });
    expect(attempt).not.toHaveBeenCalled();
    expect(await kv.peek([quota], now)).toEqual([1]); // the refused call took no quota
  });

  it('consumes quota atomically: 200 concurrent requests against 50 get exactly 50', async () => {
    entries.push(entry('q', { quota: { limit: 50, unit: 'requests', period: 'day' } }));
    const results = await Promise.allSettled(Array.from({ length: 200 }, () => router.route(req, async () => ok(1))));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(50);
    const refused = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(refused.every((r) => (r.reason as AppError).code === 'no_provider_key')).toBe(true);
    const [used] = await kv.peek([quotaCounter('q', entries[0].quota!, now, 0)], now);
    expect(used).toBe(50);
  });

  it('gives the quota back when the call was not served', async () => {
    entries.push(entry('q', { quota: { limit: 5, unit: 'requests', period: 'day' } }), entry('r', { priority: 200 }));
    await router.route(req, async (a) => (a.entry.id === 'q' ? { kind: 'retry', reason: 'server_error' } : ok(1)));
    const [used] = await kv.peek([quotaCounter('q', entries[0].quota!, now, 0)], now);
    expect(used).toBe(0);
  });

  it('counts tokens and credits quotas by the request cost and settles the difference', async () => {
    const quota = { limit: 1000, unit: 'tokens' as const, period: 'hour' as const };
    entries.push(entry('t', { quota }));
    const tokenReq = { ...req, quotaCost: { requests: 1, tokens: 600, creditsMicros: 0 } };
    let admittedAt = 0;
    await router.route(tokenReq, async (a) => {
      admittedAt = a.admittedAtMs;
      return ok(1);
    });
    await router.settleQuota('t', quota, admittedAt, -500); // used 100, not 600
    expect(await kv.peek([quotaCounter('t', quota, now, 0)], now)).toEqual([100]);
    await router.route(tokenReq, async () => ok(1));
    await expect(router.route(tokenReq, async () => ok(1))).rejects.toMatchObject({ code: 'no_provider_key' });
  });

  it('reads no quota counter on the hot path: one admit per quota entry tried, no peek', async () => {
    entries.push(entry('q', { quota: { limit: 50, unit: 'requests', period: 'day' } }), entry('other', { priority: 200 }));
    const peek = jest.spyOn(kv, 'peek');
    const admit = jest.spyOn(kv, 'admit');
    await router.route(req, async () => ok(1));
    await router.route(req, async () => ok(1));
    expect(peek).not.toHaveBeenCalled();
    expect(admit).toHaveBeenCalledTimes(2);
    await router.explain(req); // the dry run still reads the counters
    expect(peek).toHaveBeenCalledTimes(1);
  });

  it('remembers a full quota and skips the entry without a round trip until the period ends', async () => {
    const quota = { limit: 2, unit: 'requests' as const, period: 'minute' as const };
    now = Math.floor(now / 60_000) * 60_000 + 1000;
    entries.push(entry('q', { quota }), entry('r', { priority: 200 }));
    const used = async () => (await router.route(req, async () => ok(1))).entry.id;
    expect([await used(), await used()]).toEqual(['q', 'q']);
    const admit = jest.spyOn(kv, 'admit');
    const fallbacks = await router.route(req, async () => ok(1));
    expect(fallbacks.entry.id).toBe('r');
    expect(admit).not.toHaveBeenCalled(); // known full since the second call
    now += 60_000; // the next minute: a fresh quota
    expect(await used()).toBe('q');
    expect(admit).toHaveBeenCalledTimes(1);
  });

  it('forgets a remembered full quota when the entry changes or this node gives units back', async () => {
    const quota = { limit: 1, unit: 'requests' as const, period: 'day' as const };
    entries.push(entry('q', { quota }), entry('r', { priority: 200 }));
    expect((await router.route(req, async () => ok(1))).entry.id).toBe('q');
    expect((await router.route(req, async () => ok(1))).entry.id).toBe('r');
    // the limit was raised: the wallet announces the change, and the entry is tried again at once
    entries[0].quota = { ...quota, limit: 2 };
    router.forgetEntry('q');
    expect((await router.route(req, async () => ok(1))).entry.id).toBe('q');
    // another call finds it full; one served elsewhere gives its unit back (here, on this node)
    await kv.adjust(quotaCounter('q', entries[0].quota, now, 0), -1, now);
    expect((await router.route(req, async () => ok(1))).entry.id).toBe('r'); // still remembered full
    await router.settleQuota('q', entries[0].quota, now, -1);
    expect((await router.route(req, async () => ok(1))).entry.id).toBe('q');
  });

  it('a full quota takes nothing, not even a call that costs nothing', async () => {
    const quota = { limit: 100, unit: 'tokens' as const, period: 'day' as const };
    entries.push(entry('t', { quota }));
    await router.route({ ...req, quotaCost: { requests: 1, tokens: 100, creditsMicros: 0 } }, async () => ok(1));
    router.forgetEntry('t'); // so the shared counter decides, not what this node remembers
    const free = { ...req, quotaCost: { requests: 1, tokens: 0, creditsMicros: 0 } };
    await expect(router.route(free, async () => ok(1))).rejects.toMatchObject({ code: 'no_provider_key' });
    expect(await kv.peek([quotaCounter('t', quota, now, 0)], now)).toEqual([100]);
  });

  it('skips an entry whose secret will not open, without counting an attempt', async () => {
    entries.push(entry('broken', { priority: 1 }), entry('fine', { priority: 2 }));
    wallet.openSecret.mockImplementation(async (e: WalletEntry) => {
      if (e.id === 'broken') throw Object.assign(new Error('wallet entry broken is unusable: decrypt_failed'), { code: 'wallet_entry_unusable' });
      return 'ok-secret';
    });
    const result = await router.route(req, async () => ok(1));
    expect(result).toMatchObject({ attempts: 1, entry: { id: 'fine' } });
    expect(result.decision).toBe('broken:decrypt_failed>fine:ok; 2 candidates');
  });

  it('marks an entry invalid when the provider says the key is bad, and moves on', async () => {
    entries.push(entry('dead', { priority: 1 }), entry('alive', { priority: 2 }));
    const result = await router.route(req, async (a) => (a.entry.id === 'dead' ? { kind: 'invalid', status: 401 } : ok(1)));
    expect(result.entry.id).toBe('alive');
    expect(wallet.markInvalid).toHaveBeenCalledWith('dead', 'upstream 401');
    expect(prober.suspect).not.toHaveBeenCalled();
  });

  it('one request marks at most one entry invalid: a further refusal only asks for the credential check', async () => {
    entries.push(entry('a', { priority: 1 }), entry('b', { priority: 2 }), entry('c', { priority: 3 }));
    const result = await router.route(req, async (a) => (a.entry.id === 'c' ? ok(1) : { kind: 'invalid', status: 401 }));
    expect(result.entry.id).toBe('c');
    expect(wallet.markInvalid).toHaveBeenCalledTimes(1);
    expect(wallet.markInvalid).toHaveBeenCalledWith('a', 'upstream 401');
    expect(prober.suspect).toHaveBeenCalledTimes(1);
    expect(prober.suspect.mock.calls[0][0].id).toBe('b');
    expect(result.decision).toBe('a:invalid>b:unauthorized>c:ok; 3 candidates');
  });

  it('an alias chain shares one invalidation across its routes', async () => {
    entries.push(entry('a', { priority: 1 }), entry('b', { priority: 2 }));
    const invalidations = { remaining: 1 };
    await router.route({ ...req, invalidations }, async (a) => (a.entry.id === 'a' ? { kind: 'invalid', status: 401 } : ok(1)));
    await expect(router.route({ ...req, invalidations }, async () => ({ kind: 'invalid', status: 401 }))).rejects.toMatchObject({ code: 'upstream_failed' });
    expect(wallet.markInvalid).toHaveBeenCalledTimes(1);
    expect(entries.find((e) => e.id === 'b')!.status).toBe('active');
  });

  it('a 401/403 answer that may be about the request is passed on, invalidates nothing and asks for a check of that entry', async () => {
    entries.push(entry('a', { priority: 1 }), entry('b', { priority: 2 }));
    const tried: string[] = [];
    const result = await router.route(req, async (a) => {
      tried.push(a.entry.id);
      return { kind: 'ok', value: 'forbidden', status: 403, credentialSuspect: true };
    });
    expect(result).toMatchObject({ value: 'forbidden', entry: { id: 'a' }, attempts: 1 });
    expect(tried).toEqual(['a']);
    expect(wallet.markInvalid).not.toHaveBeenCalled();
    expect(prober.suspect).toHaveBeenCalledWith(expect.objectContaining({ id: 'a' }), service, 'secret-of-a');
  });

  it('cools an entry down for its Retry-After and skips it until then', async () => {
    entries.push(entry('a', { priority: 1 }), entry('b', { priority: 2 }));
    await router.route(req, async (a) => (a.entry.id === 'a' ? { kind: 'retry', reason: 'rate_limited', status: 429, retryAfterMs: 5000 } : ok(1)));
    const tried: string[] = [];
    await router.route(req, async (a) => {
      tried.push(a.entry.id);
      return ok(1);
    });
    expect(tried).toEqual(['b']);
    now += 5001;
    tried.length = 0;
    await router.route(req, async (a) => {
      tried.push(a.entry.id);
      return ok(1);
    });
    expect(tried).toEqual(['a']);
  });

  it('aborts a slow attempt at the service timeout and reports 504 when that was the last failure', async () => {
    entries.push(entry('slow'));
    const error = await router
      .route(req, (a) => new Promise<AttemptOutcome<number>>((_, reject) => a.signal.once('abort', () => reject(new Error('aborted')))))
      .catch((e) => e);
    expect(error).toBeInstanceOf(AppError);
    expect(error.code).toBe('upstream_timeout');
    expect(error.message).toContain('slow timeout');
  });

  it('fails with 502 naming every attempt, bounded by maxAttempts', async () => {
    entries.push(entry('a', { priority: 1 }), entry('b', { priority: 2 }), entry('c', { priority: 3 }));
    const attempt = jest.fn(async (): Promise<AttemptOutcome<number>> => ({ kind: 'retry', reason: 'connection_error' }));
    const error = await router.route({ ...req, maxAttempts: 2 }, attempt).catch((e) => e);
    expect(attempt).toHaveBeenCalledTimes(2);
    expect(error).toMatchObject({ code: 'upstream_failed', status: 502 });
    expect(error.message).toBe("Upstream failed after 2 attempts for service 'svc': a connection_error, b connection_error");
    expect(error.message).not.toContain('secret-of');
  });

  it('an attempt that throws ends routing with that error and refunds the quota', async () => {
    entries.push(entry('q', { quota: { limit: 5, unit: 'requests', period: 'day' } }), entry('r', { priority: 200 }));
    const boom = new AppError('invalid_request', 'bad body');
    await expect(router.route(req, async () => Promise.reject(boom))).rejects.toBe(boom);
    expect(await kv.peek([quotaCounter('q', entries[0].quota!, now, 0)], now)).toEqual([0]);
  });

  it('unknown and disabled services', async () => {
    await expect(router.route({ ...req, service: 'nope' }, async () => ok(1))).rejects.toMatchObject({ code: 'not_found' });
    service.enabled = false;
    try {
      await expect(router.route(req, async () => ok(1))).rejects.toMatchObject({ code: 'service_unavailable' });
    } finally {
      service.enabled = true;
    }
  });

  it('explain is a dry run: the same order, the skipped ones with reasons, nothing consumed', async () => {
    entries.push(
      entry('free', { tier: 'free', quota: { limit: 2, unit: 'requests', period: 'day' } }),
      entry('paid', { priority: 5 }),
      entry('off', { status: 'disabled' }),
      entry('testenv', { environment: 'test' }),
    );
    const attempt = jest.fn(async () => ok(1));
    const explained = await router.explain(req);
    expect(explained.candidates.map((c) => c.id)).toEqual(['free', 'paid']);
    expect(explained.candidates[0]).toMatchObject({ tier: 'free', quota: { limit: 2, unit: 'requests', period: 'day', used: 0 } });
    expect(explained.skipped).toEqual([{ id: 'off', label: 'off', reason: 'disabled' }]);
    expect(attempt).not.toHaveBeenCalled();
    expect(wallet.openSecret).not.toHaveBeenCalled();
    expect(await kv.peek([quotaCounter('free', entries[0].quota!, now, 0)], now)).toEqual([0]);
  });
});
