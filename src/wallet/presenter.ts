import type { Quota } from '../routing/quota';
import type { WalletEntry } from './repository';

/** The API speaks credits (USD); quota counters count micro-credits. Requests and tokens are the same in both. */
const CREDIT_MICROS = 1_000_000;

export function quotaToApi(q: Quota) {
  return { limit: q.unit === 'credits' ? q.limit / CREDIT_MICROS : q.limit, unit: q.unit, period: q.period };
}

export function quotaFromApi(q: { limit: number; unit: Quota['unit']; period: Quota['period'] }): Quota {
  return { limit: q.unit === 'credits' ? Math.round(q.limit * CREDIT_MICROS) : q.limit, unit: q.unit, period: q.period };
}

export interface QuotaUsage {
  /** in counter units (micro-credits for `credits`) */
  used: number;
  resetsAt: Date;
}

function presentQuota(q: Quota, usage?: QuotaUsage) {
  const base = quotaToApi(q);
  if (!usage) return base;
  const scale = q.unit === 'credits' ? CREDIT_MICROS : 1;
  return {
    ...base,
    used: usage.used / scale,
    remaining: Math.max(0, q.limit - usage.used) / scale,
    resetsAt: usage.resetsAt.toISOString(),
  };
}

/**
 * The fields of a wallet entry that may leave the service — in responses and in audit rows. Listing them one
 * by one means a new column (or the ciphertext, nonce and fingerprint) can never ride along by accident.
 */
export function presentEntry(e: WalletEntry, usage?: QuotaUsage) {
  return {
    id: e.id,
    service: e.service,
    label: e.label,
    tier: e.tier,
    priority: e.priority,
    weight: e.weight,
    environment: e.environment,
    status: e.status,
    /** why and since when an entry is invalid (null otherwise) */
    statusReason: e.statusReason,
    /** the team whose own pool this is; null: the organisation's shared pool */
    teamId: e.teamId,
    invalidAt: e.invalidAt,
    secretHint: e.secretHint,
    keyVersion: e.keyVersion,
    quota: e.quota ? presentQuota(e.quota, usage) : null,
    metadata: e.metadata,
    lastUsedAt: e.lastUsedAt,
    createdAt: e.createdAt,
    updatedAt: e.updatedAt,
  };
}

export type PresentedEntry = ReturnType<typeof presentEntry>;
