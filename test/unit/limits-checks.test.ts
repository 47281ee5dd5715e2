import { creditCheck, CREDIT_TTL_MARGIN_MS, keyRateLimits, OBSERVE_ONLY_LIMIT, rateChecks } from '../../src/limits/checks';
import { limitHeaders, refusalError } from '../../src/limits/headers';
import type { PlanLimits } from '../../src/keys/principal';
import { AppError } from '../../src/http/errors';

const plan: PlanLimits = { id: 'p', rpm: 60, rph: 1000, rpd: null, tpm: 10_000, monthlyCreditsMicros: 5_000_000, services: null };
const principal = { keyId: 'k1', userId: 'u1', limits: null };

describe('limit checks', () => {
  it("caps a team key's effective rpm and tpm by the team's ceiling: the smaller wins, null is no ceiling", () => {
    const team = { id: 't', rpm: 10, tpm: 500, services: null, models: null };
    expect(keyRateLimits({ limits: { rpm: 5 }, team }, plan)).toEqual({ rpm: 5, rph: 1000, rpd: null, tpm: 500 });
    expect(keyRateLimits({ limits: null, team }, plan)).toEqual({ rpm: 10, rph: 1000, rpd: null, tpm: 500 });
    const unlimited = { ...plan, rpm: null, tpm: null };
    expect(keyRateLimits({ limits: null, team }, unlimited)).toMatchObject({ rpm: 10, tpm: 500 });
    expect(keyRateLimits({ limits: null, team: { ...team, rpm: null, tpm: null } }, unlimited)).toMatchObject({ rpm: null, tpm: null });
  });

  it("uses the key's own numbers and the plan's elsewhere; null plan limits are skipped", () => {
    expect(keyRateLimits({ limits: { rpm: 5, tpm: null } }, plan)).toEqual({ rpm: 5, rph: 1000, rpd: null, tpm: 10_000 });
    const checks = rateChecks({ ...principal, limits: { rpm: 5 } }, plan, 300);
    expect(checks.map((c) => `${c.scope}:${c.name}:${c.limit}`)).toEqual([
      'key:rpm:5',
      'key:rph:1000',
      'user:rpm:60',
      'user:rph:1000',
      'key:tpm:10000',
    ]);
    expect(checks[0].check).toEqual({ key: 'rl:key:k1:rpm', limit: 5, cost: 1, windowMs: 60_000 });
    expect(checks[4].check).toMatchObject({ key: 'rl:key:k1:tpm', limit: 10_000, cost: 300 });
  });

  it("14.4 regression: a key's limits never exceed its plan's: the effective limit is the smaller, per dimension", () => {
    const generous = { keyId: 'k2', userId: 'u1', limits: { rpm: 1000, rph: 10, rpd: 50, tpm: 1_000_000 } };
    expect(keyRateLimits(generous, plan)).toEqual({ rpm: 60, rph: 10, rpd: 50, tpm: 10_000 });
    const checks = rateChecks(generous, plan, 300);
    expect(checks.filter((c) => c.scope === 'key').map((c) => `${c.name}:${c.limit}`)).toEqual(['rpm:60', 'rph:10', 'rpd:50', 'tpm:10000']);
    // worked out once per key and plan object; a changed plan (a new object from the plans cache) is worked out anew
    expect(keyRateLimits(generous, plan)).toBe(keyRateLimits(generous, plan));
    expect(keyRateLimits(generous, { ...plan, tpm: null })).toEqual({ rpm: 60, rph: 10, rpd: 50, tpm: 1_000_000 });
  });

  it('only observes the token window for a request that estimates no tokens', () => {
    const tpm = rateChecks(principal, plan, 0).find((c) => c.name === 'tpm')!;
    expect(tpm.check.limit).toBe(OBSERVE_ONLY_LIMIT);
    expect(tpm.limit).toBe(10_000);
    expect(tpm.check.cost).toBe(0);
  });

  it('builds a monthly credit counter that starts from what the database says was spent', () => {
    const c = creditCheck({ scope: 'user', id: 'u1', allowanceMicros: 7_000_000, spentMicros: 1_500_000 }, '2030-01', 1234.4, 5000);
    expect(c.check).toEqual({
      key: 'credits:user:u1:2030-01',
      limit: 7_000_000,
      cost: 1234,
      ttlMs: 5000 + CREDIT_TTL_MARGIN_MS,
      initial: 1_500_000,
    });
  });
});

describe('limit headers and refusals', () => {
  const checks = [
    ...rateChecks(principal, plan, 100),
    creditCheck({ scope: 'key', id: 'k1', allowanceMicros: 2_000_000, spentMicros: 0 }, '2030-01', 1000, 1000),
    creditCheck({ scope: 'user', id: 'u1', allowanceMicros: 5_000_000, spentMicros: 0 }, '2030-01', 1000, 1000),
  ];
  // key rpm, key rph, user rpm, user rph, tpm, key credits, user credits
  const states = [
    { used: 10, limit: 60, resetMs: 30_000 },
    { used: 990, limit: 1000, resetMs: 600_000 },
    { used: 40, limit: 60, resetMs: 30_000 },
    { used: 995, limit: 1000, resetMs: 600_000 },
    { used: 2500, limit: 10_000, resetMs: 30_000 },
    { used: 1_999_000, limit: 2_000_000, resetMs: 0 },
    { used: 3_000_000, limit: 5_000_000, resetMs: 0 },
  ];

  it('reports the tightest request window, the token window and the smaller credit balance', () => {
    expect(limitHeaders(checks, states)).toEqual({
      'x-ratelimit-limit-requests': '1000',
      'x-ratelimit-remaining-requests': '5',
      'x-ratelimit-reset-requests': '1h0m0s',
      'x-ratelimit-limit-tokens': '10000',
      'x-ratelimit-remaining-tokens': '7500',
      'x-ratelimit-reset-tokens': '45s',
      'x-keywallet-credits-remaining': '0.001000',
    });
  });

  it('sends no header for a limit that is not set', () => {
    expect(limitHeaders([], [])).toEqual({});
  });

  it('refuses a rate limit with 429, Retry-After and the limit named', () => {
    const full = states.map((s, i) => (i === 2 ? { ...s, used: 60 } : s));
    const err = refusalError(checks, full, 2, '2030-01');
    expect(err).toBeInstanceOf(AppError);
    expect(err.status).toBe(429);
    // the current minute bucket ends in 30 s, then one request drains every second
    expect(err.message).toBe('Rate limit exceeded for this user: 60 requests per minute. Retry after 31s');
    expect(err.headers?.['retry-after']).toBe('31');
    expect(err.headers?.['x-ratelimit-limit-requests']).toBe('60');
    expect(err.headers?.['x-ratelimit-remaining-requests']).toBe('0');
  });

  it('refuses credits with 402 naming the budget', () => {
    const err = refusalError(checks, states, 5, '2030-01');
    expect(err.status).toBe(402);
    expect(err.code).toBe('insufficient_credits');
    expect(err.message).toContain('this API key');
    expect(err.message).toContain('$1.999000 of $2.000000 used in 2030-01');
    expect(err.headers?.['retry-after']).toBeUndefined();
  });

  it('calls a request larger than the whole token limit too large', () => {
    const big = rateChecks(principal, plan, 20_000);
    const err = refusalError(big, [states[0], states[1], states[2], states[3], { used: 0, limit: 10_000, resetMs: 30_000 }], 4, '2030-01');
    expect(err.message).toMatch(/^Request too large for this API key/);
    expect(err.headers?.['retry-after']).toBe('60');
  });
});
