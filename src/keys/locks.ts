import { AppError } from '../http/errors';
import { jsonValue } from './lookup';
import { ipRangesWithin, modelsWithin, referrersWithin } from './narrowing';
import type { RateLimits, Scope } from './principal';
import type { CreateKeyInput, UpdateKeyInput } from './schemas';

/**
 * Restrictions an admin set on a gateway key are locked for its owner: the owner may narrow them (a subset of
 * scopes, services, models, IP ranges or referrers, lower limits, lower credits, an earlier expiry), never lift or
 * widen them. What the admin set is kept apart from the key's current values (gateway_keys.admin_restrictions), so
 * an owner who narrowed a restriction may widen it again up to the admin's value. Owners stay inside their plan too.
 */

export interface AdminRestrictions {
  scopes?: Scope[];
  services?: string[];
  models?: string[];
  allowedIps?: string[];
  allowedReferrers?: string[];
  /** ISO time */
  expiresAt?: string;
  limits?: RateLimits;
  monthlyCreditsMicros?: number;
}

/** The plan a key's owner is on, as far as a key may not exceed it. */
export interface OwnerPlan {
  id: string;
  rpm: number | null;
  rph: number | null;
  rpd: number | null;
  tpm: number | null;
  monthlyCreditsMicros: number | null;
  services: string[] | null;
}

type RestrictionInput = Partial<Pick<CreateKeyInput, 'scopes' | 'services' | 'models' | 'allowedIps' | 'allowedReferrers' | 'expiresAt' | 'limits' | 'monthlyCredits'>>;

const LIMITS = ['rpm', 'rph', 'rpd', 'tpm'] as const;
const LIST_FIELDS = ['scopes', 'services', 'models', 'allowedIps', 'allowedReferrers'] as const;

export function adminRestrictionsOf(value: unknown): AdminRestrictions {
  return jsonValue<AdminRestrictions>(value) ?? {};
}

/** What stays locked after an admin's change: each field the admin set is locked at its new value, null unlocks it. */
export function locksAfterAdminChange(current: AdminRestrictions, input: RestrictionInput): AdminRestrictions | null {
  const next: AdminRestrictions = { ...current };
  for (const field of LIST_FIELDS) {
    const value = input[field];
    if (value === undefined) continue;
    if (value === null || value.length === 0) delete next[field];
    else (next as Record<string, unknown>)[field] = value;
  }
  if (input.expiresAt !== undefined) {
    if (input.expiresAt === null) delete next.expiresAt;
    else next.expiresAt = input.expiresAt.toISOString();
  }
  if (input.monthlyCredits !== undefined) {
    if (input.monthlyCredits === null) delete next.monthlyCreditsMicros;
    else next.monthlyCreditsMicros = input.monthlyCredits;
  }
  if (input.limits !== undefined) {
    const limits: RateLimits = {};
    for (const name of LIMITS) {
      const v = input.limits?.[name];
      if (typeof v === 'number') limits[name] = v;
    }
    if (Object.keys(limits).length) next.limits = limits;
    else delete next.limits;
  }
  return Object.keys(next).length ? next : null;
}

function refused(field: string, message: string, details: Record<string, unknown> = {}): AppError {
  return new AppError('forbidden', message, { param: field, details: { field, ...details } });
}

const lockedMessage = (field: string, how: string) => `An administrator set ${field} on this key; you may only ${how}`;

/** A non-admin's change: every field it touches that an admin locked must be at least as strict as the lock. */
export function assertNarrowsAdminRestrictions(locks: AdminRestrictions, input: UpdateKeyInput): void {
  const list = <T extends string>(field: (typeof LIST_FIELDS)[number], within: (inner: T[], outer: T[]) => boolean) => {
    const locked = locks[field] as T[] | undefined;
    const value = input[field] as T[] | null | undefined;
    if (!locked || value === undefined) return;
    if (value === null || !within(value, locked)) {
      throw refused(field, lockedMessage(field, `narrow it (to entries within ${JSON.stringify(locked)})`), { locked });
    }
  };
  list<Scope>('scopes', (inner, outer) => inner.length > 0 && inner.every((s) => outer.includes(s)));
  list<string>('services', (inner, outer) => inner.length > 0 && inner.every((s) => outer.includes(s)));
  list<string>('models', modelsWithin);
  list<string>('allowedIps', ipRangesWithin);
  list<string>('allowedReferrers', referrersWithin);

  if (locks.expiresAt && input.expiresAt !== undefined) {
    if (input.expiresAt === null || input.expiresAt.getTime() > Date.parse(locks.expiresAt)) {
      throw refused('expiresAt', lockedMessage('expiresAt', `bring it forward (no later than ${locks.expiresAt})`), { locked: locks.expiresAt });
    }
  }
  if (locks.monthlyCreditsMicros !== undefined && input.monthlyCredits !== undefined) {
    if (input.monthlyCredits === null || input.monthlyCredits > locks.monthlyCreditsMicros) {
      const credits = locks.monthlyCreditsMicros / 1_000_000;
      throw refused('monthlyCredits', lockedMessage('monthlyCredits', `lower it (to at most ${credits})`), { locked: credits });
    }
  }
  if (locks.limits && input.limits !== undefined) {
    for (const name of LIMITS) {
      const locked = locks.limits[name];
      if (typeof locked !== 'number') continue;
      const value = input.limits?.[name];
      if (typeof value !== 'number' || value > locked) {
        throw refused('limits', lockedMessage(`limits.${name}`, `lower it (to at most ${locked})`), { limit: name, locked });
      }
    }
  }
}

/** A non-admin's key stays inside the owner's plan: limits and monthly credits no higher, services among the plan's. */
export function assertWithinPlan(plan: OwnerPlan, input: RestrictionInput): void {
  if (input.limits) {
    for (const name of LIMITS) {
      const value = input.limits[name];
      const ceiling = plan[name];
      if (typeof value === 'number' && ceiling !== null && value > ceiling) {
        throw refused('limits', `limits.${name} may be at most ${ceiling}, the ${plan.id} plan's`, { limit: name, plan: plan.id, max: ceiling });
      }
    }
  }
  if (input.monthlyCredits != null && plan.monthlyCreditsMicros !== null && input.monthlyCredits > plan.monthlyCreditsMicros) {
    const max = plan.monthlyCreditsMicros / 1_000_000;
    throw refused('monthlyCredits', `monthlyCredits may be at most ${max}, the ${plan.id} plan's`, { plan: plan.id, max });
  }
  if (input.services && plan.services) {
    const outside = input.services.filter((s) => !plan.services!.includes(s));
    if (outside.length) throw refused('services', `The ${plan.id} plan does not include ${outside.join(', ')}`, { plan: plan.id, services: outside });
  }
}
