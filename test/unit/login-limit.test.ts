import { MemoryKvStore } from '../../src/store/memory-kv';
import { createMetrics } from '../../src/metrics/metrics';
import { admitLoginAttempt } from '../../src/auth/login-limit';
import { AppError } from '../../src/http/errors';

describe('login attempt limits', () => {
  const limits = { perAccount: 3, perIp: 5, windowMs: 60_000 };
  let kv: MemoryKvStore;
  const metrics = createMetrics({ collectDefault: false });
  beforeEach(() => (kv = new MemoryKvStore()));
  afterEach(() => kv.close());

  async function refusal(p: Promise<unknown>): Promise<AppError> {
    try {
      await p;
    } catch (err) {
      return err as AppError;
    }
    throw new Error('expected a refusal');
  }

  it('refuses the account after its failures with 429 and Retry-After, whatever the case of the email', async () => {
    const now = 1_000_000;
    for (let i = 0; i < 3; i++) await admitLoginAttempt({ kv, metrics }, 'A@x.test', `10.0.0.${i}`, now, limits);
    const err = await refusal(admitLoginAttempt({ kv, metrics }, 'a@x.test', '10.0.0.9', now, limits));
    expect(err.code).toBe('rate_limited');
    expect(Number(err.headers?.['retry-after'])).toBeGreaterThanOrEqual(1);
    const counted = await metrics.registry.getSingleMetricAsString('keywallet_rate_limited_total');
    expect(counted).toMatch(/scope="login",limit="login"\} [1-9]/);
    // another account from a fresh address is still fine
    await admitLoginAttempt({ kv, metrics }, 'b@x.test', '10.0.0.10', now, limits);
  });

  it('refuses an IP that sprays many accounts', async () => {
    const now = 2_000_000;
    for (let i = 0; i < 5; i++) await admitLoginAttempt({ kv, metrics }, `u${i}@x.test`, '10.1.1.1', now, limits);
    expect((await refusal(admitLoginAttempt({ kv, metrics }, 'fresh@x.test', '10.1.1.1', now, limits))).code).toBe('rate_limited');
  });

  it('does not count successful logins', async () => {
    const now = 3_000_000;
    for (let i = 0; i < 10; i++) {
      const attempt = await admitLoginAttempt({ kv, metrics }, 'ok@x.test', '10.2.2.2', now, limits);
      await attempt.succeeded();
    }
    await admitLoginAttempt({ kv, metrics }, 'ok@x.test', '10.2.2.2', now, limits);
  });

  it('frees the account once the window has passed', async () => {
    const now = 4_000_000;
    for (let i = 0; i < 3; i++) await admitLoginAttempt({ kv, metrics }, 'late@x.test', '10.3.3.3', now, limits);
    await refusal(admitLoginAttempt({ kv, metrics }, 'late@x.test', '10.3.3.3', now, limits));
    await admitLoginAttempt({ kv, metrics }, 'late@x.test', '10.3.3.3', now + 2 * limits.windowMs, limits);
  });
});
