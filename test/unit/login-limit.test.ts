import { MemoryKvStore } from '../../src/store/memory-kv';
import { createMetrics } from '../../src/metrics/metrics';
import { admitLoginAttempt, backoffMs, DEFAULT_LOGIN_LIMITS, LoginLimits, sourceOf } from '../../src/auth/login-limit';
import { AppError } from '../../src/http/errors';

describe('login attempt limits', () => {
  const limits: LoginLimits = { ...DEFAULT_LOGIN_LIMITS, perAccount: 3, perIp: 5, windowMs: 60_000, freeFailures: 2 };
  let kv: MemoryKvStore;
  const metrics = createMetrics({ collectDefault: false });
  beforeEach(() => (kv = new MemoryKvStore()));
  afterEach(() => kv.close());

  const attempt = (email: string, ip: string, now: number) => admitLoginAttempt({ kv, metrics }, email, ip, now, limits);
  const fail = async (email: string, ip: string, now: number) => (await attempt(email, ip, now)).failed();

  async function refusal(p: Promise<unknown>): Promise<AppError> {
    try {
      await p;
    } catch (err) {
      return err as AppError;
    }
    throw new Error('expected a refusal');
  }

  it('refuses unknown sources once the account has failed from anywhere, with 429 and Retry-After, whatever the case', async () => {
    const now = 1_000_000;
    for (let i = 0; i < 3; i++) await fail('A@x.test', `10.0.0.${i}`, now);
    const err = await refusal(attempt('a@x.test', '10.0.0.9', now));
    expect(err.code).toBe('rate_limited');
    expect(Number(err.headers?.['retry-after'])).toBeGreaterThanOrEqual(1);
    const counted = await metrics.registry.getSingleMetricAsString('keywallet_rate_limited_total');
    expect(counted).toMatch(/scope="login",limit="login"\} [1-9]/);
    // another account from a fresh address is still fine
    await attempt('b@x.test', '10.0.0.10', now);
  });

  it('never refuses a source that logged in to the account before because of failures elsewhere', async () => {
    const now = 1_500_000;
    await (await attempt('owner@x.test', '192.0.2.10', now)).succeeded();
    for (let i = 0; i < 20; i++) await fail('owner@x.test', `198.51.100.${i}`, now).catch(() => undefined);
    await refusal(attempt('owner@x.test', '203.0.113.1', now));
    await (await attempt('owner@x.test', '192.0.2.10', now)).succeeded();
  });

  it('backs a failing (account, source) pair off exponentially, and a success clears it', async () => {
    expect([0, 1, 2, 3, 4, 30].map((f) => backoffMs(f, limits))).toEqual([0, 0, 1000, 2000, 4000, limits.maxBackoffMs]);
    let now = 1_800_000;
    await (await attempt('p@x.test', '192.0.2.20', now)).succeeded(); // known source: the account limit stays out of it
    await fail('p@x.test', '192.0.2.20', now);
    await fail('p@x.test', '192.0.2.20', now);
    const err = await refusal(attempt('p@x.test', '192.0.2.20', now + 999));
    expect(err.headers?.['retry-after']).toBe('1');
    await fail('p@x.test', '192.0.2.20', (now += 1000));
    await refusal(attempt('p@x.test', '192.0.2.20', now + 1999));
    await (await attempt('p@x.test', '192.0.2.20', (now += 2000))).succeeded();
    await fail('p@x.test', '192.0.2.20', now);
    await fail('p@x.test', '192.0.2.20', now);
  });

  it('lets one attempt per pair run at a time, so parallel guesses cannot skip the backoff', async () => {
    const now = 1_900_000;
    const first = await attempt('q@x.test', '192.0.2.30', now);
    expect((await refusal(attempt('q@x.test', '192.0.2.30', now))).code).toBe('rate_limited');
    await first.failed();
    await attempt('q@x.test', '192.0.2.30', now);
  });

  it('refuses an IP that sprays many accounts, and counts an IPv6 /64 as one source', async () => {
    const now = 2_000_000;
    for (let i = 0; i < 5; i++) await fail(`u${i}@x.test`, '10.1.1.1', now);
    expect((await refusal(attempt('fresh@x.test', '10.1.1.1', now))).code).toBe('rate_limited');
    for (let i = 0; i < 5; i++) await fail(`v${i}@x.test`, `2001:db8:1:2::${i + 1}`, now);
    expect((await refusal(attempt('fresh@x.test', '2001:db8:1:2:ffff::9', now))).code).toBe('rate_limited');
    expect(sourceOf('2001:db8:1:2:3:4:5:6')).toBe('2001:db8:1:2::/64');
    expect(sourceOf('::ffff:192.0.2.1')).toBe('192.0.2.1');
  });

  it('does not count successful logins', async () => {
    const now = 3_000_000;
    for (let i = 0; i < 10; i++) await (await attempt('ok@x.test', '10.2.2.2', now)).succeeded();
    await attempt('ok@x.test', '10.2.2.2', now);
  });

  it('frees the account once the window has passed', async () => {
    const now = 4_000_000;
    for (let i = 0; i < 3; i++) await fail('late@x.test', `10.3.3.${i}`, now);
    await refusal(attempt('late@x.test', '10.3.3.9', now));
    await attempt('late@x.test', '10.3.3.9', now + 2 * limits.windowMs);
  });
});
