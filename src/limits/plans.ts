import type { Deps } from '../deps';
import { AuditActor, recordAudit } from '../audit/audit';
import { isUniqueViolation } from '../store/db';
import { AppError, badRequest, conflict, notFound } from '../http/errors';
import { encodeChange, PLANS_CHANGED } from '../keys/events';
import type { PlanRow } from './allowances';
import { microsToUsd, usdToMicros } from './format';

/** Plans: the limits and monthly credits a user gets. Same functions for HTTP and CLI. */

export type PlanDeps = Pick<Deps, 'db' | 'kv' | 'logger' | 'limits'>;

export interface PlanChanges {
  name?: string;
  rpm?: number | null;
  rph?: number | null;
  rpd?: number | null;
  tpm?: number | null;
  /** USD per calendar month; null = unlimited */
  monthlyCredits?: number | null;
  /** service slugs this plan may reach; null = every service */
  services?: string[] | null;
}

export interface NewPlan extends PlanChanges {
  id: string;
  name: string;
}

/** The fields of a plan that leave the service. Limits: null = unlimited. */
export function presentPlan(p: PlanRow) {
  return {
    id: p.id,
    name: p.name,
    rpm: p.rpm,
    rph: p.rph,
    rpd: p.rpd,
    tpm: p.tpm,
    monthlyCredits: p.monthly_credits_micros === null ? null : microsToUsd(p.monthly_credits_micros),
    services: p.services,
    builtin: p.builtin,
    createdAt: p.created_at,
    updatedAt: p.updated_at,
  };
}

export function listPlans(db: Deps['db']): Promise<PlanRow[]> {
  return db<PlanRow>('plans').select('*').orderBy([{ column: 'monthly_credits_micros', order: 'asc', nulls: 'last' }, 'id']);
}

export async function getPlan(db: Deps['db'], id: string): Promise<PlanRow> {
  const row = await db<PlanRow>('plans').where({ id }).first();
  if (!row) throw notFound('Plan');
  return row;
}

function columnsOf(changes: PlanChanges): Record<string, unknown> {
  const cols: Record<string, unknown> = {};
  if (changes.name !== undefined) cols.name = changes.name;
  for (const k of ['rpm', 'rph', 'rpd', 'tpm'] as const) if (changes[k] !== undefined) cols[k] = changes[k];
  if (changes.monthlyCredits !== undefined) {
    cols.monthly_credits_micros = changes.monthlyCredits === null ? null : usdToMicros(changes.monthlyCredits);
  }
  // jsonb: an array must be sent as JSON text, or pg would write a PostgreSQL array literal
  if (changes.services !== undefined) cols.services = changes.services === null ? null : JSON.stringify(changes.services);
  return cols;
}

async function assertServicesExist(trx: Deps['db'], services: string[] | null | undefined): Promise<void> {
  if (!services?.length) return;
  const known = new Set<string>(await trx('services').whereIn('slug', services).pluck('slug'));
  const unknown = services.filter((s) => !known.has(s));
  if (unknown.length) {
    throw badRequest(`Unknown service: ${unknown.join(', ')}`, { param: 'services', details: [{ path: 'body.services', message: 'unknown service' }] });
  }
}

/** Every node drops its cached plans: the next request anywhere uses the change. */
async function announce(deps: PlanDeps, id: string): Promise<void> {
  deps.limits.invalidatePlans();
  try {
    await deps.kv.publish(PLANS_CHANGED, encodeChange([id]));
  } catch (err) {
    deps.logger.warn({ planId: id, reason: (err as Error).message }, 'plans: could not announce a plan change; other nodes pick it up within 30 s');
  }
}

export async function createPlan(deps: PlanDeps, input: NewPlan, actor: AuditActor): Promise<PlanRow> {
  let row: PlanRow;
  try {
    row = await deps.db.transaction(async (trx) => {
      await assertServicesExist(trx, input.services);
      const [created] = await trx<PlanRow>('plans').insert({ id: input.id, ...columnsOf(input), builtin: false }).returning('*');
      await recordAudit(trx, actor, { action: 'plan.create', targetType: 'plan', targetId: created.id, after: presentPlan(created) });
      return created;
    });
  } catch (err) {
    if (isUniqueViolation(err)) throw conflict(`Plan ${input.id} already exists`);
    throw err;
  }
  await announce(deps, row.id);
  return row;
}

export async function updatePlan(deps: PlanDeps, id: string, changes: PlanChanges, actor: AuditActor): Promise<PlanRow> {
  const cols = columnsOf(changes);
  if (Object.keys(cols).length === 0) throw new AppError('invalid_request', 'Nothing to change');
  const row = await deps.db.transaction(async (trx) => {
    const before = await trx<PlanRow>('plans').where({ id }).forUpdate().first();
    if (!before) throw notFound('Plan');
    await assertServicesExist(trx, changes.services);
    const [after] = await trx<PlanRow>('plans').where({ id }).update({ ...cols, updated_at: trx.fn.now() }).returning('*');
    await recordAudit(trx, actor, { action: 'plan.update', targetType: 'plan', targetId: id, before: presentPlan(before), after: presentPlan(after) });
    return after;
  });
  await announce(deps, id);
  return row;
}
