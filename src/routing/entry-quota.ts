import type { CounterCheck, KvStore } from '../store/kv';
import { Quota, quotaCounter, quotaPeriod } from './quota';

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

/** Counter units used this period by each entry (same order; null for entries without a quota). For the dry run. */
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

/** The shared counter's value after the call was admitted, or before it when refused. */
export interface QuotaTaken {
  ok: boolean;
  used: number;
}

/** The counter check that takes this call's share of the entry's quota. */
export function quotaCheck(entry: { id: string; quota: Quota }, cost: QuotaCost, nowMs: number): CounterCheck {
  const units = counterCost(entry.quota, cost);
  const check = quotaCounter(entry.id, entry.quota, nowMs, units);
  // A call that costs nothing still needs room (quotaHasRoom): one unit below the limit, incrementing by zero.
  if (units === 0) check.limit = entry.quota.limit - 1;
  return check;
}

/** Takes this call's share of the entry's quota, atomically across nodes; `ok` false when it does not fit. */
export async function consumeQuota(kv: KvStore, entry: { id: string; quota: Quota }, cost: QuotaCost, nowMs: number): Promise<QuotaTaken> {
  const result = await kv.admit([quotaCheck(entry, cost, nowMs)], nowMs);
  return { ok: result.ok, used: result.states[0].used };
}

/** Gives a call's share back (the call was not served), in the period it was taken from. */
export async function refundQuota(kv: KvStore, entry: { id: string; quota: Quota | null }, cost: QuotaCost, admittedAtMs: number): Promise<void> {
  if (!entry.quota) return;
  const units = counterCost(entry.quota, cost);
  if (units) await kv.adjust(quotaCounter(entry.id, entry.quota, admittedAtMs, 0), -units, admittedAtMs);
}

/** Other nodes' refunds can free room this node does not hear about: after this long, an admit is tried again. */
const RECHECK_MS = 30_000;
const MAX_REMEMBERED = 10_000;

interface KnownUse {
  used: number;
  /** the end of the quota period the value belongs to */
  periodEnd: number;
  seenAt: number;
}

/**
 * What this node last learnt of each entry's quota counter (from its own admits), so the hot path never reads
 * counters: an entry whose last known use leaves no room for this call is skipped without a round trip, until
 * its period ends, the entry changes ('wallet:changed'), this node gives units back, or RECHECK_MS passes.
 * Only ever used to skip: an entry that may have room is still admitted atomically by the shared counter.
 */
export class QuotaUseMemo {
  private readonly known = new Map<string, KnownUse>();

  note(entryId: string, quota: Quota, used: number, nowMs: number): void {
    if (this.known.size >= MAX_REMEMBERED && !this.known.has(entryId)) this.prune(nowMs);
    this.known.set(entryId, { used, periodEnd: quotaPeriod(quota.period, nowMs).end, seenAt: nowMs });
  }

  /** True when the entry is known to have no room for this call right now. */
  isFull(entry: { id: string; quota: Quota | null }, cost: QuotaCost, nowMs: number): boolean {
    const known = entry.quota ? this.known.get(entry.id) : undefined;
    if (!known || !entry.quota) return false;
    if (nowMs >= known.periodEnd || nowMs - known.seenAt >= RECHECK_MS) {
      this.known.delete(entry.id);
      return false;
    }
    return !quotaHasRoom(entry.quota, known.used, counterCost(entry.quota, cost));
  }

  forget(entryId: string): void {
    this.known.delete(entryId);
  }

  private prune(nowMs: number): void {
    for (const [id, k] of this.known) if (nowMs >= k.periodEnd || nowMs - k.seenAt >= RECHECK_MS) this.known.delete(id);
    if (this.known.size >= MAX_REMEMBERED) this.known.clear();
  }
}
