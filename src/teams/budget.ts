import { z } from 'zod';
import type { Knex } from 'knex';
import type { Deps } from '../deps';
import { AuditActor, recordAudit } from '../audit/audit';
import { AppError, forbidden, notFound } from '../http/errors';
import type { SessionUser } from '../http/context';
import { encodeChange, TEAMS_CHANGED } from '../keys/events';
import { spentInPeriod, SpendSubject } from '../limits/allowances';
import { BUDGET_PERIODS, BudgetPeriod } from '../limits/periods';
import type { LimitScope } from '../limits/checks';
import { isOrgTeamAdmin, teamRoleOf } from './access';
import { usdFromMicros } from './schemas';

/**
 * A team's budget (issue 17): the amount per period and the period (set by an org admin), and its split into
 * per-member and per-key shares (set by an org admin or a team admin of the team). A team admin may lower the
 * team's budget but never raise it or change its period (a shorter period resets sooner: a wider budget); no
 * share may exceed the team's budget, nor the shares of one kind together. Every change is audited with the
 * acting user and announced on TEAMS_CHANGED (every node drops its cached key principals, which carry the budgets).
 */

export type TeamBudgetDeps = Pick<Deps, 'db' | 'kv' | 'logger' | 'keys' | 'clock' | 'limits'>;

const MICROS_PER_USD = 1_000_000;
const usd = z
  .number()
  .min(0)
  .max(1_000_000_000)
  .transform((v) => Math.round(v * MICROS_PER_USD));

export const budgetPeriodSchema = z
  .enum(BUDGET_PERIODS as [BudgetPeriod, ...BudgetPeriod[]])
  .describe('monthly / weekly (ISO, from Monday) / daily in BUDGET_TIME_ZONE, or a rolling 24 h / 7 d / 30 d window');

export const teamBudgetSchema = z
  .strictObject({
    budget: usd.nullable().optional().describe("USD per period for the whole team; null = none. Raising it: org admins only"),
    period: budgetPeriodSchema.optional().describe('org admins only'),
    members: z
      .array(z.strictObject({ userId: z.uuid(), budget: usd.nullable().describe('USD per period; null removes the share') }))
      .max(1000)
      .optional()
      .describe("members' shares of the team budget to set (others are left as they are)"),
    keys: z
      .array(z.strictObject({ keyId: z.uuid(), budget: usd.nullable().describe('USD per period; null removes the share') }))
      .max(1000)
      .optional()
      .describe("the team's keys' shares of the team budget to set (others are left as they are)"),
  })
  .refine((b) => Object.values(b).some((v) => v !== undefined), 'give at least one field to change')
  .refine((b) => new Set((b.members ?? []).map((m) => m.userId)).size === (b.members ?? []).length, 'a member is listed twice')
  .refine((b) => new Set((b.keys ?? []).map((k) => k.keyId)).size === (b.keys ?? []).length, 'a key is listed twice');
export type TeamBudgetInput = z.output<typeof teamBudgetSchema>;

export const orgBudgetSchema = z.strictObject({
  budget: usd.nullable().describe('USD per period for the whole organisation; null = none'),
  period: budgetPeriodSchema.default('monthly'),
});
export type OrgBudgetInput = z.output<typeof orgBudgetSchema>;

interface BudgetRows {
  team: { id: string; monthly_budget_micros: number | string | null; budget_period: BudgetPeriod };
  members: { user_id: string; email: string; role: string; budget_micros: number | string | null }[];
  keys: { id: string; name: string; user_id: string; status: string; team_budget_micros: number | string | null }[];
}

const num = (v: number | string | null): number | null => (v === null ? null : Number(v));

async function loadRows(db: Knex, teamId: string, forUpdate = false): Promise<BudgetRows> {
  const q = db('teams').where({ id: teamId });
  if (forUpdate) q.forUpdate();
  const team = await q.first('id', 'monthly_budget_micros', 'budget_period');
  if (!team) throw notFound('Team');
  const members = await db('team_members as m')
    .join('users as u', 'u.id', 'm.user_id')
    .where('m.team_id', teamId)
    .orderBy('u.email')
    .select('m.user_id', 'u.email', 'm.role', 'm.budget_micros');
  const keys = await db('gateway_keys')
    .where({ team_id: teamId, status: 'active' })
    .orderBy('name')
    .select('id', 'name', 'user_id', 'status', 'team_budget_micros');
  return { team, members, keys };
}

/** The budget as the audit log records it (no spending, no secrets). */
function snapshot(r: BudgetRows) {
  return {
    budget: usdFromMicros(num(r.team.monthly_budget_micros)),
    period: r.team.budget_period,
    members: r.members.filter((m) => m.budget_micros !== null).map((m) => ({ userId: m.user_id, budget: usdFromMicros(num(m.budget_micros)) })),
    keys: r.keys.filter((k) => k.team_budget_micros !== null).map((k) => ({ keyId: k.id, budget: usdFromMicros(num(k.team_budget_micros)) })),
  };
}

/** Reading or splitting a team's budget: an org admin, or a team admin of that team. */
async function assertTeamAdmin(db: Knex, user: SessionUser, teamId: string): Promise<boolean> {
  if (isOrgTeamAdmin(user)) return true;
  if ((await teamRoleOf(db, teamId, user.id)) !== 'team_admin') {
    throw forbidden("Only an admin or a team admin of this team may see or split the team's budget");
  }
  return false;
}

/** Live spending (spent + reserved) of each level in the team's current period: the counters, else the database. */
async function spending(deps: TeamBudgetDeps, period: BudgetPeriod, levels: { scope: Exclude<LimitScope, 'key' | 'user'>; id: string; subject: SpendSubject }[]) {
  const window = deps.limits.budgetWindow(period);
  return Promise.all(
    levels.map(async (l) => (await deps.limits.budgetCounter(l.scope, l.id, period)) ?? spentInPeriod(deps.db, l.subject, window.startMs, window.endMs)),
  );
}

async function present(deps: TeamBudgetDeps, r: BudgetRows) {
  const teamId = r.team.id;
  const period = r.team.budget_period;
  const window = deps.limits.budgetWindow(period);
  const budget = num(r.team.monthly_budget_micros);
  const [teamSpent, ...rest] = await spending(deps, period, [
    { scope: 'team', id: teamId, subject: { scope: 'team', teamId } },
    ...r.members.map((m) => ({ scope: 'member' as const, id: `${teamId}:${m.user_id}`, subject: { scope: 'member' as const, teamId, userId: m.user_id } })),
    ...r.keys.map((k) => ({ scope: 'team_key' as const, id: `${teamId}:${k.id}`, subject: { scope: 'team_key' as const, teamId, keyId: k.id } })),
  ]);
  const memberSpent = rest.slice(0, r.members.length);
  const keySpent = rest.slice(r.members.length);
  return {
    teamId,
    budget: usdFromMicros(budget),
    period,
    periodLabel: window.label,
    periodStart: new Date(window.startMs).toISOString(),
    periodEnd: new Date(window.endMs).toISOString(),
    timeZone: deps.limits.periods.zone,
    spent: usdFromMicros(teamSpent),
    remaining: budget === null ? null : usdFromMicros(Math.max(0, budget - teamSpent)),
    members: r.members.map((m, i) => ({ userId: m.user_id, email: m.email, role: m.role, budget: usdFromMicros(num(m.budget_micros)), spent: usdFromMicros(memberSpent[i]) })),
    keys: r.keys.map((k, i) => ({ keyId: k.id, name: k.name, userId: k.user_id, budget: usdFromMicros(num(k.team_budget_micros)), spent: usdFromMicros(keySpent[i]) })),
  };
}

export async function getTeamBudget(deps: TeamBudgetDeps, user: SessionUser, teamId: string) {
  await assertTeamAdmin(deps.db, user, teamId);
  return present(deps, await loadRows(deps.db, teamId));
}

function exceeds(message: string, details: unknown): AppError {
  return new AppError('budget_exceeds_team', message, { details });
}

/** No share above the team's budget, and the shares of one kind together within it. */
function assertSplitFits(teamBudget: number | null, kind: 'member' | 'key', shares: { id: string; micros: number | null }[]): void {
  if (teamBudget === null) return;
  const set = shares.filter((s): s is { id: string; micros: number } => s.micros !== null);
  const over = set.find((s) => s.micros > teamBudget);
  const noun = kind === 'member' ? "A member's share" : "A key's share";
  if (over) {
    throw exceeds(`${noun} of the team budget ($${over.micros / MICROS_PER_USD}) may not exceed the team's budget ($${teamBudget / MICROS_PER_USD})`, {
      [kind === 'member' ? 'userId' : 'keyId']: over.id,
      teamBudget: teamBudget / MICROS_PER_USD,
    });
  }
  const total = set.reduce((sum, s) => sum + s.micros, 0);
  if (total > teamBudget) {
    throw exceeds(`The ${kind}s' shares together ($${total / MICROS_PER_USD}) may not exceed the team's budget ($${teamBudget / MICROS_PER_USD})`, {
      kind,
      total: total / MICROS_PER_USD,
      teamBudget: teamBudget / MICROS_PER_USD,
    });
  }
}

export async function setTeamBudget(deps: TeamBudgetDeps, user: SessionUser, teamId: string, input: TeamBudgetInput, actor: AuditActor) {
  const orgAdmin = await assertTeamAdmin(deps.db, user, teamId);
  const rows = await deps.db.transaction(async (trx) => {
    const before = await loadRows(trx, teamId, true);
    const current = num(before.team.monthly_budget_micros);
    const next = input.budget === undefined ? current : input.budget;
    if (!orgAdmin) {
      const raises = next === null ? current !== null : current !== null && next > current;
      if (raises) throw forbidden("Only an organisation admin may raise a team's budget; a team admin may split it or lower it");
      if (input.period !== undefined && input.period !== before.team.budget_period) {
        throw forbidden("Only an organisation admin may change a team budget's period");
      }
    }
    const memberIds = new Set(before.members.map((m) => m.user_id));
    const keyIds = new Set(before.keys.map((k) => k.id));
    for (const m of input.members ?? []) {
      if (!memberIds.has(m.userId)) throw new AppError('invalid_request', `User ${m.userId} is not a member of this team`, { param: 'members' });
    }
    for (const k of input.keys ?? []) {
      if (!keyIds.has(k.keyId)) throw new AppError('invalid_request', `Key ${k.keyId} is not an active key of this team`, { param: 'keys' });
    }
    const memberShares = new Map(before.members.map((m) => [m.user_id, num(m.budget_micros)]));
    for (const m of input.members ?? []) memberShares.set(m.userId, m.budget);
    const keyShares = new Map(before.keys.map((k) => [k.id, num(k.team_budget_micros)]));
    for (const k of input.keys ?? []) keyShares.set(k.keyId, k.budget);
    assertSplitFits(next, 'member', [...memberShares].map(([id, micros]) => ({ id, micros })));
    assertSplitFits(next, 'key', [...keyShares].map(([id, micros]) => ({ id, micros })));

    const teamChange: Record<string, unknown> = {};
    if (input.budget !== undefined) teamChange.monthly_budget_micros = input.budget;
    if (input.period !== undefined) teamChange.budget_period = input.period;
    if (Object.keys(teamChange).length) await trx('teams').where({ id: teamId }).update({ ...teamChange, updated_at: new Date(deps.clock.now()) });
    for (const m of input.members ?? []) await trx('team_members').where({ team_id: teamId, user_id: m.userId }).update({ budget_micros: m.budget });
    for (const k of input.keys ?? []) await trx('gateway_keys').where({ id: k.keyId, team_id: teamId }).update({ team_budget_micros: k.budget });
    const after = await loadRows(trx, teamId);
    await recordAudit(trx, actor, { action: 'team.budget_update', targetType: 'team', targetId: teamId, before: snapshot(before), after: snapshot(after) });
    return after;
  });
  deps.keys.invalidateAll();
  try {
    await deps.kv.publish(TEAMS_CHANGED, encodeChange([teamId]));
  } catch (err) {
    deps.logger.warn({ teamId, reason: (err as Error).message }, 'teams: could not announce a budget change; other nodes pick it up when their key cache expires');
  }
  return present(deps, rows);
}

const standing = {
  period: budgetPeriodSchema,
  periodLabel: z.string().describe("the current period ('2026-12', '2026-W49', '2026-12-07', 'rolling_24h:2026-12-07')"),
  periodStart: z.string().describe('ISO time the period (a rolling window: its oldest counted bucket) starts'),
  periodEnd: z.string().describe('ISO time the period ends (a rolling window: now)'),
  timeZone: z.string().describe('BUDGET_TIME_ZONE'),
  spent: z.number().describe('USD spent and reserved by calls in flight this period, every node together'),
  remaining: z.number().nullable(),
};

export const teamBudgetResponse = z.object({
  teamId: z.string(),
  budget: z.number().nullable(),
  ...standing,
  members: z.array(z.object({ userId: z.string(), email: z.string(), role: z.string(), budget: z.number().nullable(), spent: z.number() })),
  keys: z.array(z.object({ keyId: z.string(), name: z.string(), userId: z.string(), budget: z.number().nullable(), spent: z.number() })),
});

export const orgBudgetResponse = z.object({ budget: z.number().nullable(), ...standing });
