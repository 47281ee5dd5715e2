import type { CounterCheck, RollingWindow } from '../store/kv';
import type { GatewayPrincipal, PlanLimits, RateLimits } from '../keys/principal';

/**
 * The counters one gateway request is checked against, in the order a refusal is reported: request windows
 * (key, then user), tokens per minute (key), then the credit budgets along the caller's chain: the key's and the
 * user's monthly credits, then — when the key belongs to a team — the key's share of the team budget, the owner's
 * share (member), the team's budget, and finally the organisation's budget. All in one atomic admit.
 */

export type RequestLimit = 'rpm' | 'rph' | 'rpd';
export type LimitName = RequestLimit | 'tpm' | 'credits';
/** `team_key`: a key's share of its team's budget (team period); `member`: a member's share; `org`: the organisation */
export type LimitScope = 'key' | 'user' | 'team_key' | 'member' | 'team' | 'org';

export const WINDOWS: Record<RequestLimit | 'tpm', number> = {
  rpm: 60_000,
  rph: 3_600_000,
  rpd: 86_400_000,
  tpm: 60_000,
};

const REQUEST_LIMITS: RequestLimit[] = ['rpm', 'rph', 'rpd'];

/** A credit counter outlives its month by this much, so a request admitted on the 31st can still settle. */
export const CREDIT_TTL_MARGIN_MS = 2 * 86_400_000;

/**
 * A tokens-per-minute check for a request that estimates no tokens (a REST call) must not be refused because
 * LLM calls used up the minute: it is checked against this ceiling instead and only reports the window's state.
 */
export const OBSERVE_ONLY_LIMIT = Number.MAX_SAFE_INTEGER;

export interface LabelledCheck {
  check: CounterCheck;
  scope: LimitScope;
  name: LimitName;
  /** the limit clients are told about (differs from check.limit for an observe-only check) */
  limit: number;
  /** credit budgets: the budget it checks (its period, team) */
  budget?: CreditBudget;
}

/** principal (frozen, cached with its key) → its limits capped by the plan object they were worked out against */
const effectiveMemo = new WeakMap<object, { plan: RateLimits; own: RateLimits | null; limits: Required<RateLimits> }>();

/**
 * A key's effective limits: per dimension the smaller of its own and its owner's plan's (a key may only be
 * stricter than the plan), and the key's team rpm / tpm are a ceiling on that too. Null = unlimited. Worked out
 * once per key and plan object (both cached), not per request.
 */
export function keyRateLimits(principal: Pick<GatewayPrincipal, 'limits' | 'team'>, plan: RateLimits): Required<RateLimits> {
  const memo = effectiveMemo.get(principal);
  // keyed on both objects: a copy of the principal with other limits, or a reloaded plan, is worked out anew
  if (memo && memo.plan === plan && memo.own === principal.limits) return memo.limits;
  const smaller = (a: number | null, b: number | null) => (a === null ? b : b === null ? a : Math.min(a, b));
  const pick = (name: keyof RateLimits) => {
    const own = principal.limits?.[name];
    const effective = smaller(typeof own === 'number' ? own : null, plan[name] ?? null);
    const ceiling = name === 'rpm' || name === 'tpm' ? principal.team?.[name] ?? null : null;
    return smaller(effective, ceiling);
  };
  const limits = { rpm: pick('rpm'), rph: pick('rph'), rpd: pick('rpd'), tpm: pick('tpm') };
  effectiveMemo.set(principal, { plan, own: principal.limits, limits });
  return limits;
}

export function rateChecks(
  principal: Pick<GatewayPrincipal, 'keyId' | 'userId' | 'limits' | 'team'>,
  plan: PlanLimits,
  estimatedTokens: number,
): LabelledCheck[] {
  const out: LabelledCheck[] = [];
  const keyLimits = keyRateLimits(principal, plan);
  const windows = (scope: LimitScope, id: string, limits: RateLimits) => {
    for (const name of REQUEST_LIMITS) {
      const limit = limits[name];
      if (typeof limit !== 'number') continue;
      out.push({ scope, name, limit, check: { key: `rl:${scope}:${id}:${name}`, limit, cost: 1, windowMs: WINDOWS[name] } });
    }
  };
  windows('key', principal.keyId, keyLimits);
  windows('user', principal.userId, plan);
  if (typeof keyLimits.tpm === 'number') {
    const tokens = Math.max(0, Math.round(estimatedTokens));
    out.push({
      scope: 'key',
      name: 'tpm',
      limit: keyLimits.tpm,
      check: {
        key: `rl:key:${principal.keyId}:tpm`,
        limit: tokens > 0 ? keyLimits.tpm : OBSERVE_ONLY_LIMIT,
        cost: tokens,
        windowMs: WINDOWS.tpm,
      },
    });
  }
  return out;
}

export function creditCounterKey(scope: LimitScope, id: string, period: string): string {
  return `credits:${scope}:${id}:${period}`;
}

/** Where a team's or the organisation's budget counts: its period (limits/periods.ts). */
export interface BudgetWindow {
  /** the period's label ('2026-12', '2026-W49', '2026-12-07', 'rolling_24h:2026-12-07') */
  label: string;
  /** what the counter's key carries: the calendar label, or the rolling period's name (one counter for all time) */
  counter: string;
  ttlMs: number;
  rolling?: RollingWindow;
  startMs: number;
  endMs: number;
}

export interface CreditBudget {
  scope: LimitScope;
  /** key or user id; `${teamId}:${keyId}` (team_key), `${teamId}:${userId}` (member), team id, 'org' */
  id: string;
  allowanceMicros: number;
  /** what the database says was already spent this period: the counter's starting point when it is missing */
  spentMicros: number;
  /** team and organisation levels: their own period; key and user budgets count by calendar month (UTC) */
  window?: BudgetWindow;
  /** the team the level belongs to (alerts route by it) */
  teamId?: string | null;
}

export function creditCheck(budget: CreditBudget, month: string, costMicros: number, msLeftInMonth: number): LabelledCheck {
  const w = budget.window;
  const check: CounterCheck = {
    key: creditCounterKey(budget.scope, budget.id, w ? w.counter : month),
    limit: budget.allowanceMicros,
    cost: Math.max(0, Math.round(costMicros)),
    ttlMs: w ? w.ttlMs : msLeftInMonth + CREDIT_TTL_MARGIN_MS,
    initial: budget.spentMicros,
  };
  if (w?.rolling) check.rolling = w.rolling;
  return { scope: budget.scope, name: 'credits', limit: budget.allowanceMicros, check, budget };
}
