import type { Deps } from '../deps';
import { monthOf } from '../clock';
import { AuditActor, recordAudit } from '../audit/audit';
import { conflict, notFound } from '../http/errors';
import { encodeChange } from '../keys/events';
import { CREDITS_CHANGED, spentFromDatabase } from './allowances';
import { microsToUsd } from './format';

/**
 * Credit balances and admin top-ups. 1 credit = 1 USD; stored as micro-USD. A user's allowance for a calendar
 * month (UTC) is their plan's monthly credits plus this month's top-ups; what is spent counts against it.
 *
 * A negative top-up is a correction. It may take back at most this month's top-ups (never the plan's allowance),
 * and never so much that the allowance would fall below what is already spent or reserved: a correction cannot
 * push a balance below zero. Refused corrections answer 409 with the largest correction possible.
 */

export type CreditDeps = Pick<Deps, 'db' | 'kv' | 'clock' | 'logger' | 'limits'>;

interface GrantRow {
  id: number;
  amount_micros: number;
  reason: string;
  actor_id: string | null;
  gateway_key_id: string | null;
  period: string;
  created_at: Date;
}

function presentGrant(g: GrantRow) {
  return { id: String(g.id), amount: microsToUsd(g.amount_micros), reason: g.reason, period: g.period, actorId: g.actor_id, createdAt: g.created_at };
}

export interface CreditBalance {
  userId: string;
  period: string;
  plan: string;
  /** USD; allowance and remaining are null when the plan's credits are unlimited */
  planAllowance: number | null;
  topUps: number;
  allowance: number | null;
  /** recorded usage this month */
  spent: number;
  /** reserved by requests in flight, or charged and not yet rolled up */
  reserved: number;
  remaining: number | null;
  grants: ReturnType<typeof presentGrant>[];
}

interface BalanceMicros {
  planId: string;
  planMicros: number | null;
  topUpMicros: number;
  spentMicros: number;
  usedMicros: number;
}

async function balanceMicros(deps: CreditDeps, db: Deps['db'], userId: string, period: string, planId: string): Promise<BalanceMicros> {
  const plan = await db('plans').where({ id: planId }).first('monthly_credits_micros');
  const topUps = await db('credit_grants')
    .where({ user_id: userId, period })
    .whereNull('gateway_key_id')
    .sum({ total: 'amount_micros' })
    .first();
  const spentMicros = await spentFromDatabase(db, 'user', userId, period);
  const live = await deps.limits.creditCounter('user', userId, period);
  return {
    planId,
    planMicros: plan?.monthly_credits_micros ?? null,
    topUpMicros: Number(topUps?.total ?? 0),
    spentMicros,
    usedMicros: Math.max(spentMicros, live ?? 0),
  };
}

async function presentBalance(db: Deps['db'], userId: string, period: string, b: BalanceMicros): Promise<CreditBalance> {
  const grants: GrantRow[] = await db('credit_grants').where({ user_id: userId, period }).whereNull('gateway_key_id').orderBy('id');
  const allowance = b.planMicros === null ? null : b.planMicros + b.topUpMicros;
  return {
    userId,
    period,
    plan: b.planId,
    planAllowance: b.planMicros === null ? null : microsToUsd(b.planMicros),
    topUps: microsToUsd(b.topUpMicros),
    allowance: allowance === null ? null : microsToUsd(allowance),
    spent: microsToUsd(b.spentMicros),
    reserved: microsToUsd(b.usedMicros - b.spentMicros),
    remaining: allowance === null ? null : microsToUsd(allowance - b.usedMicros),
    grants: grants.map(presentGrant),
  };
}

export async function creditBalance(deps: CreditDeps, userId: string, period = monthOf(deps.clock.now())): Promise<CreditBalance> {
  const user = await deps.db('users').where({ id: userId }).first('id', 'plan_id');
  if (!user) throw notFound('User');
  return presentBalance(deps.db, userId, period, await balanceMicros(deps, deps.db, userId, period, user.plan_id));
}

export interface CreditGrant {
  userId: string;
  amountMicros: number;
  reason: string;
}

/** Adds (or, negative, takes back) credits for the current month, audited in the same transaction. */
export async function grantCredits(deps: CreditDeps, grant: CreditGrant, actor: AuditActor) {
  const period = monthOf(deps.clock.now());
  const { row, balance } = await deps.db.transaction(async (trx) => {
    // serialises concurrent grants to one user, so two corrections cannot both pass the check below
    const user = await trx('users').where({ id: grant.userId }).forUpdate().first('id', 'plan_id');
    if (!user) throw notFound('User');
    const before = await balanceMicros(deps, trx, grant.userId, period, user.plan_id);
    if (grant.amountMicros < 0) {
      const slack = before.planMicros === null ? Infinity : before.planMicros + before.topUpMicros - before.usedMicros;
      const maxCorrection = Math.max(0, Math.min(before.topUpMicros, slack));
      if (-grant.amountMicros > maxCorrection) {
        throw conflict(
          `A correction may take back at most ${microsToUsd(maxCorrection)} credits now: this month's top-ups, ` +
            `without leaving the balance below what is already spent`,
          { details: { maxCorrection: microsToUsd(maxCorrection), period } },
        );
      }
    }
    const [inserted] = await trx('credit_grants')
      .insert({ user_id: grant.userId, amount_micros: grant.amountMicros, period, reason: grant.reason, actor_id: actor.id ?? null })
      .returning('*');
    await recordAudit(trx, actor, {
      action: 'credits.grant',
      targetType: 'user',
      targetId: grant.userId,
      before: { period, topUps: microsToUsd(before.topUpMicros) },
      after: { period, topUps: microsToUsd(before.topUpMicros + grant.amountMicros), grant: presentGrant(inserted) },
    });
    return { row: inserted as GrantRow, balance: { ...before, topUpMicros: before.topUpMicros + grant.amountMicros } };
  });
  deps.limits.invalidateCredits([grant.userId]);
  try {
    await deps.kv.publish(CREDITS_CHANGED, encodeChange([grant.userId]));
  } catch (err) {
    deps.logger.warn({ userId: grant.userId, reason: (err as Error).message }, 'credits: could not announce a top-up; other nodes pick it up within a minute');
  }
  return { grant: presentGrant(row), balance: await presentBalance(deps.db, grant.userId, period, balance) };
}
