import type { Deps } from '../deps';
import { monthOf, msUntilNextMonth } from '../clock';
import { AppError } from '../http/errors';
import type { GatewayPrincipal, PlanLimits } from '../keys/principal';
import { decodeChange, PLANS_CHANGED } from '../keys/events';
import type { AdmitResult, CounterAdjustment, CounterCheck, CounterRef } from '../store/kv';
import type { BudgetScope, BudgetUsageSample } from '../alerts/types';
import { noBudgetObserver } from '../alerts/types';
import { AllowanceCache, CREDITS_CHANGED, Loaded } from './allowances';
import { BudgetWindow, CreditBudget, creditCheck, creditCounterKey, LabelledCheck, LimitScope, rateChecks } from './checks';
import { OrgBudgetCache, ORG_BUDGET_CHANGED } from './org-budget';
import { BudgetPeriod, PeriodCalendar } from './periods';
import { limitHeaders, refusalError } from './headers';
import { CounterStore, ResilienceOptions, ResilientCounters, StoreUnreachableError } from './resilient-counters';

export type LimitDeps = Pick<Deps, 'db' | 'kv' | 'clock' | 'logger' | 'metrics'> & Partial<Pick<Deps, 'config' | 'budgetObserver'>>;

/** One credit budget an admission reserved against: its counter and what alerts are told about it. */
export interface AdmittedBudget {
  counter: CounterRef;
  scope: LimitScope;
  id: string;
  period: string;
  budgetMicros: number;
  teamId: string | null;
  /** the counter's value right after the reservation */
  usedAtAdmit: number;
}

/** What `admit` reserved for one request: hand it back to `settle` or `refund` exactly once. */
export interface Admission {
  readonly keyId: string;
  readonly userId: string;
  /** the injected clock's time of admission: settling adjusts the same window buckets */
  readonly nowMs: number;
  readonly period: string;
  /** 'none' when nothing limits this caller; 'local' when admitted by the per-node fallback */
  readonly store: CounterStore | 'none';
  readonly estimatedTokens: number;
  readonly estimatedCostMicros: number;
  readonly tokenCounter: CounterRef | null;
  readonly creditCounters: readonly CounterRef[];
  /** every budget level along the chain (same order as creditCounters) */
  readonly budgets: readonly AdmittedBudget[];
  /** the smallest balance along the chain after this reservation; null = unlimited */
  readonly creditsRemainingMicros: number | null;
  readonly headers: Readonly<Record<string, string>>;
  /**
   * The result of the `linked` checks admit was given, taken in the same atomic step; undefined when they were not
   * tried (no shared counters for this caller, or the per-node fallback): the caller takes them itself.
   */
  readonly linked?: AdmitResult;
}

export interface AdmitRequest {
  estimatedTokens: number;
  estimatedCostMicros: number;
}

/**
 * Rate limits and credit budgets for gateway requests. `admit` checks and reserves everything in ONE atomic
 * counter-store call (one Redis round trip): per-key and per-user request windows, the key's tokens per minute,
 * and every credit budget along the caller's chain — the key's and user's monthly credits, the key's and the
 * member's share of their team's budget, the team's budget, the organisation's budget — admitted only if every
 * level has room. Refusal → 429 `rate_limited` (Retry-After) or 402 `insufficient_credits`, naming the level.
 * After a call settles, each level's new standing (read back by the settle call itself) goes to the budget observer.
 *
 * When the shared store (Redis) is unreachable: a caller with a credit budget is refused with 503 — credits fail
 * closed, since a per-node count could overspend N times over. Rate limits alone fall back to the same limits
 * counted per node (`degraded` is true meanwhile, for /ready), with a warning logged once a minute.
 */
export class LimitService {
  readonly allowances: AllowanceCache;
  readonly orgBudget: OrgBudgetCache;
  readonly periods: PeriodCalendar;
  private readonly counters: ResilientCounters;
  private readonly closed = new WeakSet<Admission>();

  /** `counters`: the request path's outage guard when it is shared with the router (deps.ts); else one of its own. */
  constructor(private readonly deps: LimitDeps, opts: ResilienceOptions = {}, counters?: ResilientCounters) {
    this.allowances = new AllowanceCache(deps);
    this.orgBudget = new OrgBudgetCache(deps);
    this.periods = new PeriodCalendar(deps.config?.budgetTimeZone ?? 'UTC');
    this.counters = counters ?? new ResilientCounters(deps.kv, deps.logger, opts);
  }

  /** True while the shared counter store is unreachable (rate limits per node, credit-limited callers refused). */
  get degraded(): boolean {
    return this.counters.degraded;
  }

  /**
   * `linked`: counters of the caller's own (a wallet entry's quota) to take in the same round trip, only if the
   * request is admitted; their result is `Admission.linked`.
   */
  async admit(principal: GatewayPrincipal, req: AdmitRequest, linked?: CounterCheck[]): Promise<Admission> {
    const nowMs = this.deps.clock.now();
    const period = monthOf(nowMs);
    // warm caches are read without an await: a request pays for the database only when a cache is cold
    const plan = this.allowances.planNow(principal.plan) ?? (await this.allowances.plan(principal.plan));
    const rate = rateChecks(principal, plan, req.estimatedTokens);
    const budgets = this.creditBudgetsNow(principal, plan, period, nowMs) ?? (await this.creditBudgets(principal, plan, period, nowMs));
    const msLeft = msUntilNextMonth(nowMs);
    const credit = budgets.map((b) => creditCheck(b, period, req.estimatedCostMicros, msLeft));
    let checks = [...rate, ...credit];

    let store: Admission['store'] = 'none';
    let result: AdmitResult = { ok: true, blocked: -1, states: [] };
    if (checks.length > 0) {
      try {
        result = await this.counters.admitShared(checks.map((c) => c.check), nowMs, linked);
        store = 'shared';
      } catch (err) {
        if (!(err instanceof StoreUnreachableError)) throw err;
        if (credit.length > 0) {
          throw new AppError('service_unavailable', 'The credit budget store is unreachable; the request was not made. Try again shortly', {
            headers: { 'retry-after': '1' },
          });
        }
        checks = rate;
        result = await this.counters.admitLocal(rate.map((c) => c.check), nowMs);
        store = 'local';
      }
    }
    if (!result.ok) {
      const c = checks[result.blocked];
      if (c.name === 'credits') this.deps.metrics.budgetRefused.labels(c.scope).inc();
      else this.deps.metrics.rateLimited.labels(c.scope, c.name).inc();
      throw refusalError(checks, result.states, result.blocked, period);
    }
    return this.admission(principal, req, { nowMs, period, store, checks, states: result.states, linked: result.linked ?? undefined });
  }

  /** Corrects the reservation to what the request really used. Never throws; failures are logged. */
  async settle(admission: Admission, actual: { tokens: number; costMicros: number }): Promise<void> {
    await this.release(admission, actual.tokens - admission.estimatedTokens, actual.costMicros - admission.estimatedCostMicros, 'settle');
  }

  /** Gives back the tokens and credits reserved for a request that failed upstream. Never throws. */
  async refund(admission: Admission): Promise<void> {
    await this.release(admission, -admission.estimatedTokens, -admission.estimatedCostMicros, 'refund');
  }

  /**
   * A plain sliding-window limit outside the gateway path (management endpoints). Uses the shared store, or the
   * per-node fallback when it is unreachable — never refuses because Redis is down.
   */
  async admitWindows(checks: CounterCheck[]): Promise<AdmitResult> {
    const nowMs = this.deps.clock.now();
    try {
      return await this.counters.admitShared(checks, nowMs);
    } catch (err) {
      if (!(err instanceof StoreUnreachableError)) throw err;
      return this.counters.admitLocal(checks, nowMs);
    }
  }

  /** The live value of a monthly credit counter (spent + reserved), or null when missing or unreachable. */
  async creditCounter(scope: LimitScope, id: string, period: string): Promise<number | null> {
    try {
      const [value] = await this.counters.peekShared([{ key: creditCounterKey(scope, id, period) }], this.deps.clock.now());
      return value > 0 ? value : null;
    } catch {
      return null;
    }
  }

  /** Where a team-level or organisation budget of this period counts now (its label, counter, lifetime). */
  budgetWindow(period: BudgetPeriod, nowMs = this.deps.clock.now()): BudgetWindow {
    const w = this.periods.window(period, nowMs);
    return { label: w.label, counter: w.rolling ? period : w.label, ttlMs: w.ttlMs, rolling: w.rolling, startMs: w.startMs, endMs: w.endMs };
  }

  /**
   * The live value (spent + reserved) of a team-level or organisation budget in its current period, or null when
   * its counter is missing (nothing admitted yet this period) or the store is unreachable.
   */
  async budgetCounter(scope: Exclude<LimitScope, 'key' | 'user'>, id: string, period: BudgetPeriod): Promise<number | null> {
    const nowMs = this.deps.clock.now();
    const w = this.budgetWindow(period, nowMs);
    try {
      const [value] = await this.counters.peekShared([{ key: creditCounterKey(scope, id, w.counter), rolling: w.rolling }], nowMs);
      return value > 0 ? value : null;
    } catch {
      return null;
    }
  }

  invalidatePlans(): void {
    this.allowances.invalidatePlans();
  }

  invalidateOrgBudget(): void {
    this.orgBudget.invalidate();
  }

  invalidateCredits(userIds: string[] | null): void {
    this.allowances.invalidateTopUps(userIds);
  }

  /** Subscribes to the invalidation channels; every node runs this once at boot. */
  async listen(): Promise<void> {
    await this.deps.kv.subscribe(PLANS_CHANGED, () => this.invalidatePlans());
    await this.deps.kv.subscribe(CREDITS_CHANGED, (message) => this.invalidateCredits(decodeChange(message)?.ids ?? null));
    await this.deps.kv.subscribe(ORG_BUDGET_CHANGED, () => this.invalidateOrgBudget());
  }

  async close(): Promise<void> {
    await this.counters.close();
  }

  /**
   * The credit budgets along the caller's chain from warm caches, or undefined when one of them has to be loaded
   * (its load is then pushed onto `pending`, when given). Order: key, user, the key's share of its team budget,
   * the member's share, the team, the organisation — the order a refusal is reported in.
   */
  private creditBudgetsNow(principal: GatewayPrincipal, plan: PlanLimits, month: string, nowMs: number, pending?: Promise<unknown>[]): CreditBudget[] | undefined {
    const keyAllowance = principal.monthlyCreditsMicros;
    const planAllowance = plan.monthlyCreditsMicros;
    const team = principal.team;
    const teamLevels = !!team && (team.budgetMicros != null || team.memberBudgetMicros != null || team.keyBudgetMicros != null);
    let complete = true;
    const need = <T>(load: Loaded<T>): T | undefined => {
      if (load.value === undefined) {
        complete = false;
        pending?.push(load.promise);
      }
      return load.value;
    };
    const orgLoad = this.orgBudget.now();
    if (orgLoad === undefined) {
      complete = false;
      pending?.push(this.orgBudget.load());
    }
    const org = orgLoad ?? null;
    if (keyAllowance == null && planAllowance == null && !teamLevels && !org) return complete ? [] : undefined;

    const budgets: CreditBudget[] = [];
    if (keyAllowance != null || planAllowance != null) {
      const topUps = need(this.allowances.topUpsLoad(principal.userId, month));
      if (keyAllowance != null) {
        const spentMicros = need(this.allowances.spentLoad('key', principal.keyId, month));
        if (topUps && spentMicros !== undefined) {
          budgets.push({ scope: 'key', id: principal.keyId, allowanceMicros: keyAllowance + (topUps.keyMicros.get(principal.keyId) ?? 0), spentMicros });
        }
      }
      if (planAllowance != null) {
        const spentMicros = need(this.allowances.spentLoad('user', principal.userId, month));
        if (topUps && spentMicros !== undefined) {
          budgets.push({ scope: 'user', id: principal.userId, allowanceMicros: planAllowance + topUps.userMicros, spentMicros });
        }
      }
    }
    if (teamLevels) {
      const window = this.budgetWindow(team!.budgetPeriod ?? 'monthly', nowMs);
      const level = (scope: 'team_key' | 'member' | 'team', id: string, allowanceMicros: number | null | undefined) => {
        if (allowanceMicros == null) return;
        const subject =
          scope === 'team_key' ? { scope, teamId: team!.id, keyId: principal.keyId } : scope === 'member' ? { scope, teamId: team!.id, userId: principal.userId } : { scope, teamId: team!.id };
        const spentMicros = need(this.allowances.periodSpentLoad(`${scope}:${id}:${window.label}`, subject, window.startMs, window.endMs));
        if (spentMicros !== undefined) budgets.push({ scope, id, allowanceMicros, spentMicros, window, teamId: team!.id });
      };
      level('team_key', `${team!.id}:${principal.keyId}`, team!.keyBudgetMicros);
      level('member', `${team!.id}:${principal.userId}`, team!.memberBudgetMicros);
      level('team', team!.id, team!.budgetMicros);
    }
    if (org) {
      const window = this.budgetWindow(org.period, nowMs);
      const spentMicros = need(this.allowances.periodSpentLoad(`org:org:${window.label}`, { scope: 'org' }, window.startMs, window.endMs));
      if (spentMicros !== undefined) budgets.push({ scope: 'org', id: 'org', allowanceMicros: org.budgetMicros, spentMicros, window, teamId: null });
    }
    return complete ? budgets : undefined;
  }

  /** The credit budgets, loading what the caches lack (the loads are shared with concurrent requests). */
  private async creditBudgets(principal: GatewayPrincipal, plan: PlanLimits, month: string, nowMs: number): Promise<CreditBudget[]> {
    for (;;) {
      const pending: Promise<unknown>[] = [];
      const ready = this.creditBudgetsNow(principal, plan, month, nowMs, pending);
      if (ready) return ready;
      await Promise.all(pending);
    }
  }

  private admission(
    principal: GatewayPrincipal,
    req: AdmitRequest,
    a: { nowMs: number; period: string; store: Admission['store']; checks: LabelledCheck[]; states: AdmitResult['states']; linked?: AdmitResult },
  ): Admission {
    const ref = (c: LabelledCheck): CounterRef => ({ key: c.check.key, windowMs: c.check.windowMs, ttlMs: c.check.ttlMs, rolling: c.check.rolling });
    const tokens = a.checks.find((c) => c.name === 'tpm');
    const credits = a.checks.filter((c) => c.name === 'credits');
    const usedAt = credits.map((c) => a.states[a.checks.indexOf(c)].used);
    const remaining = credits.map((c, i) => c.limit - usedAt[i]);
    return {
      keyId: principal.keyId,
      userId: principal.userId,
      nowMs: a.nowMs,
      period: a.period,
      store: a.store,
      estimatedTokens: Math.max(0, Math.round(req.estimatedTokens)),
      estimatedCostMicros: Math.max(0, Math.round(req.estimatedCostMicros)),
      tokenCounter: tokens ? ref(tokens) : null,
      creditCounters: credits.map(ref),
      budgets: credits.map((c, i) => ({
        counter: ref(c),
        scope: c.scope,
        id: c.budget!.id,
        period: c.budget!.window?.label ?? a.period,
        budgetMicros: c.limit,
        teamId: c.budget!.teamId ?? null,
        usedAtAdmit: usedAt[i],
      })),
      creditsRemainingMicros: remaining.length ? Math.min(...remaining) : null,
      headers: a.store === 'none' ? {} : limitHeaders(a.checks, a.states),
      linked: a.linked,
    };
  }

  /**
   * Tells the budget observer where each level stands after a call settled: the values the settle call read back
   * (`values`, credit counters first), or the values at admission when the estimate was exact. Never throws.
   */
  private observe(admission: Admission, values: readonly number[] | null): void {
    if (admission.budgets.length === 0) return;
    const observer = this.deps.budgetObserver ?? noBudgetObserver;
    if (observer === noBudgetObserver) return;
    try {
      const samples: BudgetUsageSample[] = [];
      admission.budgets.forEach((b, i) => {
        const spent = values ? values[i] : b.usedAtAdmit;
        if (!Number.isFinite(spent)) return; // the counter expired meanwhile: nothing to report
        samples.push({ scope: BUDGET_SCOPE[b.scope], scopeId: scopeIdOf(b), period: b.period, spentMicros: spent, budgetMicros: b.budgetMicros, teamId: b.teamId });
      });
      if (samples.length) observer.observe(samples);
    } catch (err) {
      this.deps.logger.warn({ keyId: admission.keyId, reason: (err as Error)?.message }, 'limits: the budget observer failed; ignored');
    }
  }

  private async release(admission: Admission, tokenDelta: number, costDelta: number, what: 'settle' | 'refund'): Promise<void> {
    if (this.closed.has(admission)) {
      this.deps.logger.warn({ keyId: admission.keyId, what }, 'limits: admission already settled or refunded; ignored');
      return;
    }
    this.closed.add(admission);
    if (admission.store === 'none') return;
    const tokens = Math.round(tokenDelta);
    const cost = Math.round(costDelta);
    const items: CounterAdjustment[] = [];
    if (cost !== 0) for (const c of admission.creditCounters) items.push({ check: c, delta: cost });
    if (admission.tokenCounter && tokens !== 0) items.push({ check: admission.tokenCounter, delta: tokens });
    if (items.length === 0) {
      if (what === 'settle') this.observe(admission, null);
      return;
    }
    try {
      // one round trip for the tokens per minute and every credit counter; it answers with the counters' new values
      const values = await this.counters.adjustMany(admission.store, items, admission.nowMs);
      if (what === 'settle') this.observe(admission, cost !== 0 ? values : null);
    } catch (err) {
      this.deps.logger.error(
        { keyId: admission.keyId, userId: admission.userId, what, tokens, costMicros: cost, reason: (err as Error)?.message },
        'limits: could not adjust counters after the request; they stay at the reserved estimate',
      );
    }
  }
}

const BUDGET_SCOPE: Record<LimitScope, BudgetScope> = { key: 'key', user: 'user', team_key: 'key', member: 'member', team: 'team', org: 'org' };

/** How the observer names a level: the key, user, team id; `${teamId}:${userId}` for a member; 'org'. */
function scopeIdOf(b: AdmittedBudget): string {
  return b.scope === 'team_key' ? b.id.slice(b.id.indexOf(':') + 1) : b.id;
}

/** Builds the service and subscribes it to plan and credit changes (boot waits at most 5 s for the subscription). */
export async function createLimitService(deps: LimitDeps, opts?: ResilienceOptions, counters?: ResilientCounters): Promise<LimitService> {
  const service = new LimitService(deps, opts, counters);
  const listening = service.listen();
  let timer: NodeJS.Timeout | undefined;
  const timedOut = await Promise.race([
    listening.then(() => false),
    new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), 5000))),
  ]).finally(() => clearTimeout(timer));
  if (timedOut) deps.logger.error('limits: could not subscribe to plan/credit changes yet; caches rely on their TTL until it connects');
  listening.catch((err) => deps.logger.error({ err }, 'limits: subscribing to plan/credit changes failed'));
  return service;
}
