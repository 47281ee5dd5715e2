import { quotaPeriod, type Quota } from '../routing/quota';
import { quotaPeriodLabel } from './thresholds';

/**
 * Wallet events the alert service turns into alerts: an entry turned invalid, a quota 90 % used, a free tier used up.
 * Reported from the request path (router, wallet), so `walletEvent` is synchronous and never throws: it queues.
 */
export type WalletEventKind = 'wallet.entry_invalid' | 'wallet.quota_threshold' | 'wallet.free_tier_exhausted';

export interface WalletEvent {
  kind: WalletEventKind;
  entryId: string;
  /** once per entry per period: the quota period's label, or the invalidation's instant */
  period: string;
  /** percent for a quota threshold, 100 for a free tier used up, 0 for an invalidation */
  threshold: number;
  data: Record<string, unknown>;
}

export interface WalletEventObserver {
  walletEvent(event: WalletEvent): void;
}

export const QUOTA_ALERT_PERCENT = 90;

interface QuotaEntry {
  id: string;
  service: string;
  label?: string;
  tier: 'free' | 'paid';
  quota: Quota | null;
}

/**
 * After a quota admit: reports a quota 90 % used and a free-tier entry whose quota is used up (or could not take a
 * call). Cheap when nothing is reached (two comparisons), which is nearly every call. Per-minute quotas are left out:
 * reaching one is routine traffic steering, not news for a person.
 */
export function reportQuotaUse(observer: WalletEventObserver | undefined, entry: QuotaEntry, used: number, admitted: boolean, nowMs: number): void {
  const quota = entry.quota;
  if (!observer || !quota || quota.period === 'minute') return;
  const exhausted = entry.tier === 'free' && (!admitted || used >= quota.limit);
  const nearlyFull = used * 100 >= QUOTA_ALERT_PERCENT * quota.limit;
  if (!exhausted && !nearlyFull) return;
  const period = quotaPeriodLabel(quota.period, quotaPeriod(quota.period, nowMs).start);
  const counted = quota.unit === 'credits' ? { usedUsd: used / 1_000_000, limitUsd: quota.limit / 1_000_000 } : { used, limit: quota.limit };
  const data = { entryId: entry.id, service: entry.service, label: entry.label ?? null, tier: entry.tier, quota: { unit: quota.unit, period: quota.period, ...counted }, period };
  if (nearlyFull) {
    observer.walletEvent({ kind: 'wallet.quota_threshold', entryId: entry.id, period, threshold: QUOTA_ALERT_PERCENT, data: { ...data, threshold: QUOTA_ALERT_PERCENT } });
  }
  if (exhausted) observer.walletEvent({ kind: 'wallet.free_tier_exhausted', entryId: entry.id, period, threshold: 100, data });
}
