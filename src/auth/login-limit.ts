import crypto from 'node:crypto';
import type { KvStore, CounterCheck } from '../store/kv';
import type { Metrics } from '../metrics/metrics';
import { AppError } from '../http/errors';

/**
 * Brute-force protection for password logins. Each attempt reserves a slot in two sliding windows — per
 * account and per client IP — atomically across nodes, so a burst of parallel guesses cannot slip past
 * the limit. A successful login hands its slot back: only failures (and attempts in flight) count.
 */
export interface LoginLimits {
  perAccount: number;
  perIp: number;
  windowMs: number;
}

export const DEFAULT_LOGIN_LIMITS: LoginLimits = { perAccount: 10, perIp: 50, windowMs: 15 * 60_000 };

export interface LoginAttempt {
  /** call after a successful login so it does not count against the limits */
  succeeded(): Promise<void>;
}

function checks(limits: LoginLimits, email: string, ip: string): CounterCheck[] {
  // The address is hashed: counter keys never carry user-controlled text into Redis key names.
  const account = crypto.createHash('sha256').update(email.trim().toLowerCase()).digest('hex').slice(0, 32);
  return [
    { key: `login:acct:${account}`, limit: limits.perAccount, cost: 1, windowMs: limits.windowMs },
    { key: `login:ip:${ip}`, limit: limits.perIp, cost: 1, windowMs: limits.windowMs },
  ];
}

export async function admitLoginAttempt(
  deps: { kv: KvStore; metrics: Metrics },
  email: string,
  ip: string,
  nowMs: number,
  limits: LoginLimits = DEFAULT_LOGIN_LIMITS,
): Promise<LoginAttempt> {
  const wanted = checks(limits, email, ip);
  const result = await deps.kv.admit(wanted, nowMs);
  if (!result.ok) {
    deps.metrics.rateLimited.labels('login', 'login').inc();
    const retryAfter = Math.max(1, Math.ceil(result.states[result.blocked].resetMs / 1000));
    throw new AppError('rate_limited', 'Too many login attempts; try again later', {
      headers: { 'retry-after': String(retryAfter) },
    });
  }
  return {
    succeeded: async () => {
      await Promise.all(wanted.map((c) => deps.kv.adjust(c, -1, nowMs)));
    },
  };
}
