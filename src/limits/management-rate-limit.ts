import type Koa from 'koa';
import type { Deps } from '../deps';
import { AppError } from '../http/errors';
import { AppContext, clientIp } from '../http/context';
import type { CounterCheck } from '../store/kv';
import { retryAfterSeconds, windowDrainMs } from './format';

export interface ManagementRateLimitOptions {
  perMinute: number;
  /**
   * Separate budgets for separate route groups (e.g. 'login' for credential guessing, 'mgmt' for the rest).
   * Refusals of the 'login' bucket count in keywallet_rate_limited_total{scope="login",limit="login"}.
   */
  bucket?: string;
}

const MINUTE = 60_000;

/**
 * A per-minute sliding-window limit for management endpoints, keyed by client IP, and also by user when an
 * earlier middleware has authenticated one. Put it in a route's `before`. When Redis is unreachable it counts
 * per node instead of failing: a management outage is worse than a looser limit for a minute.
 */
export function managementRateLimit(deps: Pick<Deps, 'limits' | 'metrics'>, opts: ManagementRateLimitOptions): Koa.Middleware {
  const bucket = opts.bucket ?? 'mgmt';
  return async (ctx: AppContext, next) => {
    const checks: CounterCheck[] = [{ key: `mgmt:${bucket}:ip:${clientIp(ctx)}`, limit: opts.perMinute, cost: 1, windowMs: MINUTE }];
    const userId = ctx.state.user?.id;
    if (userId) checks.push({ key: `mgmt:${bucket}:user:${userId}`, limit: opts.perMinute, cost: 1, windowMs: MINUTE });
    const result = await deps.limits.admitWindows(checks);
    if (!result.ok) {
      const s = result.states[result.blocked];
      const retryAfter = retryAfterSeconds(windowDrainMs(s.used + 1 - opts.perMinute, opts.perMinute, MINUTE, s.resetMs));
      if (bucket === 'login') deps.metrics.rateLimited.labels('login', 'login').inc();
      throw new AppError('rate_limited', `Too many requests: ${opts.perMinute} per minute. Retry after ${retryAfter}s`, {
        headers: { 'retry-after': String(retryAfter) },
      });
    }
    await next();
  };
}
