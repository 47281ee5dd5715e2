import type { Db } from '../store/db';
import type { Deps } from '../deps';
import { AuditActor, recordAudit } from '../audit/audit';
import { spentInPeriod } from './allowances';
import type { Clock } from '../clock';
import { isDatabaseUnavailable, MAX_STALE_ON_DB_ERROR_MS } from '../store/db-unavailable';
import type { BudgetPeriod } from './periods';

/**
 * The organisation-wide budget (issue 17): one row of the settings table, { budgetMicros, period }, above every
 * team, user and key. Cached per node like the plans; a change is announced on ORG_BUDGET_CHANGED and every node
 * drops its copy (the TTL below is only a safety net for a lost message).
 */

export const ORG_BUDGET_CHANGED = 'org:budget-changed';
export const ORG_BUDGET_SETTING = 'org_budget';
const TTL_MS = 30_000;

export interface OrgBudget {
  budgetMicros: number;
  period: BudgetPeriod;
}

export async function readOrgBudget(db: Db): Promise<OrgBudget | null> {
  const row = await db('settings').where({ key: ORG_BUDGET_SETTING }).first('value');
  if (!row) return null;
  const value = (typeof row.value === 'string' ? JSON.parse(row.value) : row.value) as Partial<OrgBudget> | null;
  if (!value || typeof value.budgetMicros !== 'number') return null;
  return { budgetMicros: value.budgetMicros, period: value.period ?? 'monthly' };
}

export class OrgBudgetCache {
  private loading: { promise: Promise<OrgBudget | null>; value?: OrgBudget | null } | null = null;
  private loadedAt = 0;
  private last: { value: OrgBudget | null; at: number } | null = null;

  constructor(private readonly deps: { db: Db; clock: Clock }) {}

  /** The budget (null = none) when loaded and fresh; undefined while it is being read (then await `load()`). */
  now(): OrgBudget | null | undefined {
    return this.current().value;
  }

  load(): Promise<OrgBudget | null> {
    return this.current().promise;
  }

  invalidate(): void {
    this.loading = null;
  }

  private current() {
    const now = this.deps.clock.now();
    if (!this.loading || now - this.loadedAt > TTL_MS) {
      this.loadedAt = now;
      const last = this.last;
      const promise = readOrgBudget(this.deps.db)
        .then((value) => {
          this.last = { value, at: now };
          return value;
        })
        .catch((err: unknown) => {
          // stale-while-error, as the plans: the last good copy while PostgreSQL is unreachable
          if (last && isDatabaseUnavailable(err) && now - last.at < MAX_STALE_ON_DB_ERROR_MS) return last.value;
          throw err;
        });
      const entry: { promise: Promise<OrgBudget | null>; value?: OrgBudget | null } = { promise };
      promise.then(
        (value) => (entry.value = value),
        () => {
          if (this.loading === entry) this.loading = null;
        },
      );
      this.loading = entry;
    }
    return this.loading;
  }
}

/** What GET/PUT /org/budget answer: the budget, its current period and where it stands (USD). */
export async function presentOrgBudget(deps: Pick<Deps, 'db' | 'limits'>) {
  const budget = await readOrgBudget(deps.db);
  const period = budget?.period ?? 'monthly';
  const window = deps.limits.budgetWindow(period);
  const spent = (await deps.limits.budgetCounter('org', 'org', period)) ?? (await spentInPeriod(deps.db, { scope: 'org' }, window.startMs, window.endMs));
  return {
    budget: budget ? budget.budgetMicros / 1e6 : null,
    period,
    periodLabel: window.label,
    periodStart: new Date(window.startMs).toISOString(),
    periodEnd: new Date(window.endMs).toISOString(),
    timeZone: deps.limits.periods.zone,
    spent: spent / 1e6,
    remaining: budget ? Math.max(0, budget.budgetMicros - spent) / 1e6 : null,
  };
}

/** Sets (or, budget null, removes) the organisation's budget; audited, and announced to every node. */
export async function setOrgBudget(
  deps: Pick<Deps, 'db' | 'kv' | 'logger' | 'limits' | 'clock'>,
  input: { budget: number | null; period: BudgetPeriod },
  actor: AuditActor,
) {
  await deps.db.transaction(async (trx) => {
    await trx.raw('select pg_advisory_xact_lock(hashtext(?))', [ORG_BUDGET_SETTING]);
    const before = await readOrgBudget(trx);
    if (input.budget === null) {
      await trx('settings').where({ key: ORG_BUDGET_SETTING }).delete();
    } else {
      const value = JSON.stringify({ budgetMicros: input.budget, period: input.period });
      await trx('settings')
        .insert({ key: ORG_BUDGET_SETTING, value, updated_at: new Date(deps.clock.now()) })
        .onConflict('key')
        .merge(['value', 'updated_at']);
    }
    const show = (b: OrgBudget | null) => (b ? { budget: b.budgetMicros / 1e6, period: b.period } : { budget: null });
    await recordAudit(trx, actor, {
      action: 'org.budget_update',
      targetType: 'org',
      targetId: null,
      before: show(before),
      after: show(input.budget === null ? null : { budgetMicros: input.budget, period: input.period }),
    });
  });
  deps.limits.invalidateOrgBudget();
  try {
    await deps.kv.publish(ORG_BUDGET_CHANGED, '{}');
  } catch (err) {
    deps.logger.warn({ reason: (err as Error).message }, 'org budget: could not announce the change; other nodes pick it up within 30 s');
  }
  return presentOrgBudget(deps);
}
