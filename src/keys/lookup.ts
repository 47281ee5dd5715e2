import { types } from 'node:util';
import type { Db } from '../store/db';
import { parseCidrList, ParsedCidr } from '../http/ip-allow';
import type { GatewayPrincipal, RateLimits, Scope } from './principal';
import type { BudgetPeriod } from '../limits/periods';

/** What the verifier caches per key: the principal plus what is checked per request (network, expiry). */
export interface VerifiedKey {
  principal: GatewayPrincipal;
  allowedIps: ParsedCidr[];
  /** set when a stored allow-list cannot be read: the key then fails closed, never open */
  ipListUnreadable: boolean;
  allowedReferrers: string[];
  expiresAtMs: number | null;
}

export type LookupOutcome =
  | { ok: true; key: VerifiedKey }
  | { ok: false; reason: 'unknown' | 'revoked' | 'user_disabled' };

/** jsonb arrives parsed from pg; tolerate a string in case a driver hands it over raw. */
export function jsonValue<T>(value: unknown): T | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string') {
    try {
      return JSON.parse(value) as T;
    } catch {
      return null;
    }
  }
  return value as T;
}

function timeMs(value: unknown): number | null {
  if (value === null || value === undefined) return null;
  // types.isDate, not instanceof: rows from the PGlite worker thread may be of another realm (under Jest)
  const ms = types.isDate(value) ? value.getTime() : new Date(String(value)).getTime();
  return Number.isNaN(ms) ? null : ms;
}

const numOrNull = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

/** One round trip: the key, its owner, the owner's plan and the key's team. */
export async function lookupGatewayKey(db: Db, keyHash: string): Promise<LookupOutcome> {
  const row = await db('gateway_keys as k')
    .join('users as u', 'u.id', 'k.user_id')
    .join('plans as p', 'p.id', 'u.plan_id')
    .leftJoin('teams as t', 't.id', 'k.team_id')
    .leftJoin('team_members as tm', (j) => j.on('tm.team_id', 'k.team_id').andOn('tm.user_id', 'k.user_id'))
    .where('k.key_hash', keyHash)
    .first(
      'k.id', 'k.user_id', 'k.environment', 'k.scopes', 'k.services', 'k.models', 'k.allowed_ips',
      'k.allowed_referrers', 'k.expires_at', 'k.limits', 'k.monthly_credits_micros', 'k.status',
      'u.disabled as user_disabled', 'p.id as plan_id', 'p.rpm as plan_rpm', 'p.rph as plan_rph',
      'p.rpd as plan_rpd', 'p.tpm as plan_tpm', 'p.monthly_credits_micros as plan_credits_micros',
      'p.services as plan_services', 't.id as team_id', 't.rpm as team_rpm', 't.tpm as team_tpm',
      't.services as team_services', 't.models as team_models', 't.slug as team_slug', 't.own_pool_only as team_own_pool_only',
      't.monthly_budget_micros as team_budget', 't.budget_period as team_budget_period', 'tm.budget_micros as member_budget',
      'k.team_budget_micros as key_team_budget',
    );
  if (!row) return { ok: false, reason: 'unknown' };
  if (row.status !== 'active') return { ok: false, reason: 'revoked' };
  if (row.user_disabled) return { ok: false, reason: 'user_disabled' };
  return { ok: true, key: verifiedKeyFromRow(row) };
}

export function verifiedKeyFromRow(row: Record<string, unknown>): VerifiedKey {
  const principal: GatewayPrincipal = {
    keyId: String(row.id),
    userId: String(row.user_id),
    environment: row.environment === 'test' ? 'test' : 'live',
    scopes: jsonValue<Scope[]>(row.scopes) ?? [],
    services: jsonValue<string[]>(row.services),
    models: jsonValue<string[]>(row.models),
    limits: jsonValue<RateLimits>(row.limits),
    monthlyCreditsMicros: numOrNull(row.monthly_credits_micros),
    plan: {
      id: String(row.plan_id),
      rpm: numOrNull(row.plan_rpm),
      rph: numOrNull(row.plan_rph),
      rpd: numOrNull(row.plan_rpd),
      tpm: numOrNull(row.plan_tpm),
      monthlyCreditsMicros: numOrNull(row.plan_credits_micros),
      services: jsonValue<string[]>(row.plan_services),
    },
    team: row.team_id
      ? {
          id: String(row.team_id),
          slug: row.team_slug === undefined ? undefined : String(row.team_slug),
          ownPoolOnly: row.team_own_pool_only === true,
          rpm: numOrNull(row.team_rpm),
          tpm: numOrNull(row.team_tpm),
          services: jsonValue<string[]>(row.team_services),
          models: jsonValue<string[]>(row.team_models),
          budgetMicros: numOrNull(row.team_budget),
          budgetPeriod: (row.team_budget_period as BudgetPeriod | undefined) ?? 'monthly',
          memberBudgetMicros: numOrNull(row.member_budget),
          keyBudgetMicros: numOrNull(row.key_team_budget),
        }
      : null,
  };
  let allowedIps: ParsedCidr[] = [];
  let ipListUnreadable = false;
  try {
    allowedIps = parseCidrList(jsonValue<string[]>(row.allowed_ips) ?? []);
  } catch {
    ipListUnreadable = true;
  }
  return {
    principal,
    allowedIps,
    ipListUnreadable,
    allowedReferrers: jsonValue<string[]>(row.allowed_referrers) ?? [],
    expiresAtMs: timeMs(row.expires_at),
  };
}
