import type { KvStore } from '../store/kv';
import { Quota, quotaCounter } from './quota';

/**
 * A wallet entry's quota as a shared counter. The wallet stores `quota.limit` in counter units (requests,
 * tokens, or micro-credits for `credits`), so limits and costs compare directly.
 */

export interface QuotaCost {
  requests: number;
  tokens: number;
  creditsMicros: number;
}

/** What one call consumes up front, in the quota's counter units. */
export function counterCost(quota: Quota, cost: QuotaCost): number {
  if (quota.unit === 'requests') return cost.requests;
  if (quota.unit === 'tokens') return Math.max(0, Math.round(cost.tokens));
  return Math.max(0, Math.round(cost.creditsMicros));
}

/** Counter units used this period by each entry (same order; null for entries without a quota). */
export async function peekQuotaUse(
  kv: KvStore,
  entries: readonly { id: string; quota: Quota | null }[],
  nowMs: number,
): Promise<(number | null)[]> {
  const withQuota = entries.filter((e) => e.quota);
  if (withQuota.length === 0) return entries.map(() => null);
  const used = await kv.peek(withQuota.map((e) => quotaCounter(e.id, e.quota!, nowMs, 0)), nowMs);
  const byId = new Map(withQuota.map((e, i) => [e.id, used[i]]));
  return entries.map((e) => (e.quota ? byId.get(e.id) ?? 0 : null));
}

/** Whether an entry's quota can still take a call of `cost` (a full quota takes nothing, not even a free call). */
export function quotaHasRoom(quota: Quota, used: number, cost: number): boolean {
  return used < quota.limit && used + cost <= quota.limit;
}

/** Takes this call's share of the entry's quota, atomically across nodes; false when it does not fit. */
export async function consumeQuota(kv: KvStore, entry: { id: string; quota: Quota | null }, cost: QuotaCost, nowMs: number): Promise<boolean> {
  if (!entry.quota) return true;
  const result = await kv.admit([quotaCounter(entry.id, entry.quota, nowMs, counterCost(entry.quota, cost))], nowMs);
  return result.ok;
}

/** Gives a call's share back (the call was not served), in the period it was taken from. */
export async function refundQuota(kv: KvStore, entry: { id: string; quota: Quota | null }, cost: QuotaCost, admittedAtMs: number): Promise<void> {
  if (!entry.quota) return;
  const units = counterCost(entry.quota, cost);
  if (units) await kv.adjust(quotaCounter(entry.id, entry.quota, admittedAtMs, 0), -units, admittedAtMs);
}
