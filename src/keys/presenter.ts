import { adminRestrictionsOf } from './locks';
import { jsonValue } from './lookup';
import type { RateLimits, Scope } from './principal';
import { creditsFromMicros } from './schemas';

export interface GatewayKeyRow {
  id: string;
  user_id: string;
  team_id?: string | null;
  name: string;
  environment: 'live' | 'test';
  key_hash: string;
  key_hint: string;
  scopes: unknown;
  services: unknown;
  models: unknown;
  allowed_ips: unknown;
  allowed_referrers: unknown;
  expires_at: Date | null;
  limits: unknown;
  monthly_credits_micros: number | null;
  /** what an admin set (keys/locks.ts); the owner may only narrow it */
  admin_restrictions?: unknown;
  status: 'active' | 'revoked';
  revoked_at: Date | null;
  revoked_reason: string | null;
  rotated_from: string | null;
  replaced_by: string | null;
  last_used_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

export type KeyStatus = 'active' | 'revoked' | 'expired';

export function keyStatus(row: Pick<GatewayKeyRow, 'status' | 'expires_at'>, nowMs: number): KeyStatus {
  if (row.status === 'revoked') return 'revoked';
  if (row.expires_at && new Date(row.expires_at).getTime() <= nowMs) return 'expired';
  return 'active';
}

/** The restrictions an admin locked, in the API's units (credits in USD); null when none. */
function presentLocks(value: unknown) {
  const locks = adminRestrictionsOf(value);
  if (Object.keys(locks).length === 0) return null;
  const { monthlyCreditsMicros, ...rest } = locks;
  return monthlyCreditsMicros === undefined ? rest : { ...rest, monthlyCredits: monthlyCreditsMicros / 1_000_000 };
}

/** The fields of a gateway key that may leave the service: never the hash, only the masked hint. */
export function presentGatewayKey(row: GatewayKeyRow, nowMs: number) {
  return {
    id: row.id,
    name: row.name,
    userId: row.user_id,
    teamId: row.team_id ?? null,
    environment: row.environment,
    maskedKey: row.key_hint,
    scopes: jsonValue<Scope[]>(row.scopes) ?? [],
    services: jsonValue<string[]>(row.services),
    models: jsonValue<string[]>(row.models),
    allowedIps: jsonValue<string[]>(row.allowed_ips),
    allowedReferrers: jsonValue<string[]>(row.allowed_referrers),
    limits: jsonValue<RateLimits>(row.limits),
    monthlyCredits: creditsFromMicros(row.monthly_credits_micros === null ? null : Number(row.monthly_credits_micros)),
    lockedByAdmin: presentLocks(row.admin_restrictions),
    status: keyStatus(row, nowMs),
    expiresAt: row.expires_at,
    revokedAt: row.revoked_at,
    revokedReason: row.revoked_reason,
    lastUsedAt: row.last_used_at,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    rotatedFrom: row.rotated_from,
    replacedBy: row.replaced_by,
  };
}

export type PresentedGatewayKey = ReturnType<typeof presentGatewayKey>;
