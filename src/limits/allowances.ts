import { LRUCache } from 'lru-cache';
import type { Clock } from '../clock';
import type { Db } from '../store/db';
import { isDatabaseUnavailable, MAX_STALE_ON_DB_ERROR_MS } from '../store/db-unavailable';
import type { PlanLimits } from '../keys/principal';
import type { LimitScope } from './checks';

/**
 * What the hot path needs from the database, cached per process: plans, this month's top-ups per user and key,
 * and what was spent this month (the starting point of a credit counter Redis has lost). Plans and top-ups are
 * invalidated through pub/sub ('plans:changed', 'credits:changed') on every node; the short TTLs below are only
 * a safety net for a lost message.
 */

export const CREDITS_CHANGED = 'credits:changed';

const PLAN_TTL_MS = 30_000;
const TOP_UP_TTL_MS = 60_000;
/** Spent only matters when a counter is missing, and usage is written in batches anyway: a minute is fresh enough. */
const SPENT_TTL_MS = 60_000;

export interface PlanRow {
  id: string;
  name: string;
  rpm: number | null;
  rph: number | null;
  rpd: number | null;
  tpm: number | null;
  monthly_credits_micros: number | null;
  services: string[] | null;
  builtin: boolean;
  created_at: Date;
  updated_at: Date;
}

export function planLimitsOf(row: PlanRow): PlanLimits {
  return {
    id: row.id,
    rpm: row.rpm,
    rph: row.rph,
    rpd: row.rpd,
    tpm: row.tpm,
    monthlyCreditsMicros: row.monthly_credits_micros,
    services: row.services,
  };
}

export interface TopUps {
  /** grants to the user as a whole */
  userMicros: number;
  /** grants tied to one gateway key, by key id */
  keyMicros: Map<string, number>;
}

/** First and (exclusive) last day of a `YYYY-MM` month, as dates usage_daily can be compared with. */
export function monthDays(month: string): { from: string; to: string } {
  const [y, m] = month.split('-').map(Number);
  const next = m === 12 ? `${y + 1}-01` : `${y}-${String(m + 1).padStart(2, '0')}`;
  return { from: `${month}-01`, to: `${next}-01` };
}

/** A cached load: its promise (shared by concurrent callers) and, once it has resolved, its value. */
export interface Loaded<T> {
  promise: Promise<T>;
  value?: T;
}

/** Wraps a load so its value can be read synchronously once it has resolved; `failed` forgets it. */
function settles<T>(promise: Promise<T>, failed: () => void): Loaded<T> {
  const loading: Loaded<T> = { promise };
  promise.then((value) => (loading.value = value), failed);
  return loading;
}

export class AllowanceCache {
  private plans: Loaded<Map<string, PlanLimits>> | null = null;
  private plansLoadedAt = 0;
  private lastPlans: { value: Map<string, PlanLimits>; at: number } | null = null;
  private readonly topUps = new LRUCache<string, Loaded<TopUps>>({ max: 20_000, ttl: TOP_UP_TTL_MS });
  private readonly spent = new LRUCache<string, Loaded<number>>({ max: 50_000, ttl: SPENT_TTL_MS });

  /** `deps.db` is read at each load (not captured), like every other cache on the request path */
  constructor(private readonly deps: { db: Db; clock: Clock }) {}

  /** The plan as the database has it now; the principal's copy when the plan is unknown here. */
  async plan(fallback: PlanLimits): Promise<PlanLimits> {
    return (await this.planById(fallback.id)) ?? fallback;
  }

  async planById(id: string): Promise<PlanLimits | null> {
    return (await this.loadedPlans().promise).get(id) ?? null;
  }

  /**
   * The hot path's synchronous look: the plan when the plans are loaded and fresh (the principal's copy when the
   * plan is unknown here), undefined when `plan()` has to wait for the database.
   */
  planNow(fallback: PlanLimits): PlanLimits | undefined {
    const plans = this.loadedPlans().value;
    return plans && (plans.get(fallback.id) ?? fallback);
  }

  private loadedPlans(): Loaded<Map<string, PlanLimits>> {
    const now = this.deps.clock.now();
    if (!this.plans || now - this.plansLoadedAt > PLAN_TTL_MS) {
      this.plansLoadedAt = now;
      // stale-while-error: the last good plans serve on (up to MAX_STALE_ON_DB_ERROR_MS) while PostgreSQL is unreachable
      const last = this.lastPlans;
      const read = this.deps.db<PlanRow>('plans')
        .select('*')
        .then((rows) => {
          const plans = new Map(rows.map((r) => [r.id, planLimitsOf(r)]));
          this.lastPlans = { value: plans, at: now };
          return plans;
        })
        .catch((err: unknown) => {
          if (last && isDatabaseUnavailable(err) && now - last.at < MAX_STALE_ON_DB_ERROR_MS) return last.value;
          throw err;
        });
      const loading = settles(read, () => {
        if (this.plans === loading) this.plans = null;
      });
      this.plans = loading;
    }
    return this.plans;
  }

  topUpsOf(userId: string, month: string): Promise<TopUps> {
    return this.loadedTopUps(userId, month).promise;
  }

  /** The user's top-ups when they are already loaded, else undefined (and loading starts). */
  topUpsNow(userId: string, month: string): TopUps | undefined {
    return this.loadedTopUps(userId, month).value;
  }

  /** Sum of usage cost recorded for the user or key this month (usage_daily rollups). */
  spentOf(scope: LimitScope, id: string, month: string): Promise<number> {
    return this.loadedSpent(scope, id, month).promise;
  }

  /** What was spent when it is already loaded, else undefined (and loading starts). */
  spentNow(scope: LimitScope, id: string, month: string): number | undefined {
    return this.loadedSpent(scope, id, month).value;
  }

  /** The user's top-ups for the month, loaded or loading (the hot path reads `.value`, waits on `.promise`). */
  topUpsLoad(userId: string, month: string): Loaded<TopUps> {
    return this.loadedTopUps(userId, month);
  }

  /** What a key or user spent this month (usage_daily), loaded or loading. */
  spentLoad(scope: 'key' | 'user', id: string, month: string): Loaded<number> {
    return this.loadedSpent(scope, id, month);
  }

  /**
   * What a team-level budget (team, member, key in team) or the organisation spent in a period (usage_hourly, hour
   * precision), loaded or loading; `cacheKey` names the level and period.
   */
  periodSpentLoad(cacheKey: string, subject: SpendSubject, startMs: number, endMs: number): Loaded<number> {
    return this.cached(this.spent, cacheKey, () => spentInPeriod(this.deps.db, subject, startMs, endMs));
  }

  private loadedTopUps(userId: string, month: string): Loaded<TopUps> {
    return this.cached(this.topUps, `${userId}:${month}`, () => this.loadTopUps(userId, month));
  }

  private loadedSpent(scope: LimitScope, id: string, month: string): Loaded<number> {
    return this.cached(this.spent, `${scope}:${id}:${month}`, () => spentFromDatabase(this.deps.db, scope, id, month));
  }

  private async loadTopUps(userId: string, month: string): Promise<TopUps> {
    const rows: { gateway_key_id: string | null; total: number | string }[] = await this.deps.db('credit_grants')
      .where({ user_id: userId, period: month })
      .groupBy('gateway_key_id')
      .select('gateway_key_id', this.deps.db.raw('sum(amount_micros) as total'));
    const out: TopUps = { userMicros: 0, keyMicros: new Map() };
    for (const r of rows) {
      if (r.gateway_key_id) out.keyMicros.set(r.gateway_key_id, Number(r.total));
      else out.userMicros = Number(r.total);
    }
    return out;
  }

  invalidatePlans(): void {
    this.plans = null;
    this.lastPlans = null;
  }

  /** null drops every user's top-ups (a message that could not be read) */
  invalidateTopUps(userIds: string[] | null): void {
    if (userIds === null) {
      this.topUps.clear();
      return;
    }
    const prefixes = userIds.map((id) => `${id}:`);
    for (const key of [...this.topUps.keys()]) if (prefixes.some((p) => key.startsWith(p))) this.topUps.delete(key);
  }

  private cached<T>(cache: LRUCache<string, Loaded<T>>, key: string, load: () => Promise<T>): Loaded<T> {
    const hit = cache.get(key);
    if (hit) return hit;
    // concurrent requests share one query; a failed query is not remembered
    const loading = settles(load(), () => {
      if (cache.get(key) === loading) cache.delete(key);
    });
    cache.set(key, loading);
    return loading;
  }
}

export async function spentFromDatabase(db: Db, scope: LimitScope, id: string, month: string): Promise<number> {
  if (scope !== 'key' && scope !== 'user') throw new Error(`spentFromDatabase: ${scope} budgets count by their own period (spentInPeriod)`);
  const { from, to } = monthDays(month);
  const row = await db('usage_daily')
    .where(scope === 'user' ? 'user_id' : 'gateway_key_id', id)
    .andWhere('day', '>=', from)
    .andWhere('day', '<', to)
    .sum({ total: 'cost_micros' })
    .first();
  return Number(row?.total ?? 0);
}

/** Whose spending a team-level or organisation budget counts. */
export type SpendSubject =
  | { scope: 'org' }
  | { scope: 'team'; teamId: string }
  | { scope: 'member'; teamId: string; userId: string }
  | { scope: 'team_key'; teamId: string; keyId: string };

/**
 * What was recorded for a team-level or organisation budget in [startMs, endMs): the hourly rollups of the calls
 * made in the team (usage is attributed to the key's team at call time, so a key that changed teams leaves its
 * earlier spending with the old team), of the member's calls in it, of the key's calls in it, or of everyone. Hours
 * are whole: a period starting mid-hour (a zone with a half-hour offset) counts that hour in full, erring on the
 * side of refusing. Only read when the counter is missing (first call of a period, or Redis lost it).
 */
export async function spentInPeriod(db: Db, subject: SpendSubject, startMs: number, endMs: number): Promise<number> {
  const HOUR = 3_600_000;
  // the team and the organisation read the slim hourly rollup (no user, key or wallet entry: far fewer rows)
  const slim = subject.scope === 'org' || subject.scope === 'team';
  const q = db(slim ? 'usage_hourly_slim' : 'usage_hourly')
    .where('hour', '>=', new Date(Math.floor(startMs / HOUR) * HOUR))
    .andWhere('hour', '<', new Date(endMs));
  if (subject.scope !== 'org') q.andWhere('team_id', subject.teamId);
  if (subject.scope === 'member') q.andWhere('user_id', subject.userId);
  if (subject.scope === 'team_key') q.andWhere('gateway_key_id', subject.keyId);
  const row = await q.sum({ total: 'cost_micros' }).first();
  return Number(row?.total ?? 0);
}
