import type { CounterCheck } from '../store/kv';

/** A wallet entry's quota: how much of `unit` it may use per calendar `period` (UTC-aligned). */
export interface Quota {
  limit: number;
  unit: 'requests' | 'tokens' | 'credits';
  period: 'minute' | 'hour' | 'day' | 'month';
}

const FIXED: Record<Exclude<Quota['period'], 'month'>, number> = { minute: 60_000, hour: 3_600_000, day: 86_400_000 };

/** Start and end (ms) of the quota period containing `nowMs`. */
export function quotaPeriod(period: Quota['period'], nowMs: number): { start: number; end: number } {
  if (period === 'month') {
    const d = new Date(nowMs);
    return { start: Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1), end: Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1) };
  }
  const len = FIXED[period];
  const start = Math.floor(nowMs / len) * len;
  return { start, end: start + len };
}

/**
 * The counter for an entry's quota in the current period. Quotas reset at period boundaries (a provider's free
 * tier "per day" means per calendar day), so this is a plain counter keyed by the period start, not a sliding window.
 * `cost` is what this request consumes up front (1 request; estimated tokens or micro-credits, settled afterwards).
 */
export function quotaCounter(entryId: string, quota: Quota, nowMs: number, cost: number): CounterCheck {
  const { start, end } = quotaPeriod(quota.period, nowMs);
  return { key: `quota:${entryId}:${start}`, limit: quota.limit, cost, ttlMs: end - nowMs + 60_000 };
}
