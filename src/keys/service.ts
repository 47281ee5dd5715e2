import crypto from 'node:crypto';
import type { Knex } from 'knex';
import type { Deps } from '../deps';
import { AppError, notFound } from '../http/errors';
import { AuditActor, recordAudit } from '../audit/audit';
import { formatGatewayKeyHint, gatewayKeyHint, generateGatewayKey, hashGatewayKey } from './key-format';
import { GatewayKeyRow, keyStatus, presentGatewayKey, PresentedGatewayKey } from './presenter';
import type { CreateKeyInput, UpdateKeyInput } from './schemas';
import { publishKeysChanged } from './events';
import { teamRoleOf, teamsAdministeredBy } from '../teams/access';
import { adminRestrictionsOf, assertNarrowsAdminRestrictions, assertWithinPlan, locksAfterAdminChange, OwnerPlan } from './locks';

/** The gateway-key lifecycle, shared by the HTTP routes and the CLI. Every change is audited in its transaction. */

export type KeyServiceDeps = Pick<Deps, 'db' | 'kv' | 'clock' | 'logger' | 'keys'>;

/** Whose keys the caller may touch: their own, or (admins, the CLI) everyone's. */
export interface KeyAccess {
  userId: string | null;
  all: boolean;
}

export interface IssuedKey {
  record: PresentedGatewayKey;
  /** the plaintext, returned once at creation or rotation and never stored */
  key: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const isUuid = (id: string) => UUID.test(id);

export const jsonb = (v: unknown) => (v === null || v === undefined ? null : JSON.stringify(v));

/**
 * The key's own row if the caller may see it; someone else's key is indistinguishable from a missing one.
 * `teamAdmin`: a team admin also reaches the keys that belong to their team (reading and revoking only).
 */
export async function findAccessibleKey(db: Knex, access: KeyAccess, id: string, forUpdate = false, teamAdmin = false): Promise<GatewayKeyRow> {
  if (!isUuid(id)) throw notFound('API key');
  const query = db('gateway_keys').where({ id });
  if (!access.all) {
    query.andWhere((q) => {
      q.where({ user_id: access.userId });
      if (teamAdmin && access.userId) q.orWhereIn('team_id', teamsAdministeredBy(db, access.userId));
    });
  }
  if (forUpdate) query.forUpdate();
  const row = (await query.first()) as GatewayKeyRow | undefined;
  if (!row) throw notFound('API key');
  return row;
}

/** After the commit: this node drops its cache entries at once, the others on the pub/sub message. */
export async function announceKeyChange(deps: KeyServiceDeps, keyIds: string[]): Promise<void> {
  deps.keys.invalidateKeys(keyIds);
  try {
    await publishKeysChanged(deps.kv, keyIds);
  } catch (err) {
    // The change is committed; other nodes still drop stale entries when their cache TTL runs out.
    deps.logger.error({ err, keyIds }, 'could not announce a gateway key change to other nodes');
  }
}

/** Same shape as a schema failure (see http/validate.ts), for checks that need the database or the clock. */
function fieldError(field: string, message: string): AppError {
  return new AppError('invalid_request', `Invalid body: body.${field} ${message}`, {
    param: field,
    details: [{ path: `body.${field}`, message }],
  });
}

function assertFuture(deps: KeyServiceDeps, expiresAt: Date | null | undefined): void {
  if (expiresAt && expiresAt.getTime() <= deps.clock.now()) {
    throw fieldError('expiresAt', 'must be in the future');
  }
}

async function assertServicesExist(db: Knex, services: string[] | null | undefined): Promise<void> {
  if (!services?.length) return;
  const known = new Set<string>(await db('services').whereIn('slug', services).pluck('slug'));
  const unknown = services.filter((s) => !known.has(s));
  if (unknown.length) throw fieldError('services', `unknown service: ${unknown.join(', ')}`);
}

/** Restriction and limit columns from validated input; keys absent from the input are left out. */
function restrictionColumns(input: Partial<CreateKeyInput>): Record<string, unknown> {
  const cols: Record<string, unknown> = {};
  if (input.name !== undefined) cols.name = input.name;
  if (input.scopes !== undefined) cols.scopes = jsonb(input.scopes);
  if (input.services !== undefined) cols.services = jsonb(input.services);
  if (input.models !== undefined) cols.models = jsonb(input.models);
  if (input.allowedIps !== undefined) cols.allowed_ips = jsonb(input.allowedIps?.length ? input.allowedIps : null);
  if (input.allowedReferrers !== undefined) cols.allowed_referrers = jsonb(input.allowedReferrers?.length ? input.allowedReferrers : null);
  if (input.expiresAt !== undefined) cols.expires_at = input.expiresAt;
  if (input.limits !== undefined) cols.limits = jsonb(input.limits);
  if (input.monthlyCredits !== undefined) cols.monthly_credits_micros = input.monthlyCredits;
  return cols;
}

async function ownerPlan(trx: Knex, userId: string): Promise<OwnerPlan> {
  const row = await trx('users as u')
    .join('plans as p', 'p.id', 'u.plan_id')
    .where('u.id', userId)
    .first('p.id', 'p.rpm', 'p.rph', 'p.rpd', 'p.tpm', 'p.monthly_credits_micros', 'p.services');
  if (!row) throw notFound('User');
  const num = (v: unknown) => (v === null || v === undefined ? null : Number(v));
  return {
    id: row.id, rpm: num(row.rpm), rph: num(row.rph), rpd: num(row.rpd), tpm: num(row.tpm),
    monthlyCreditsMicros: num(row.monthly_credits_micros),
    services: typeof row.services === 'string' ? JSON.parse(row.services) : row.services,
  };
}

/** Inserts a fresh key (new random secret) with the given columns; returns the row and the plaintext. */
export async function insertKey(trx: Knex.Transaction, columns: Record<string, unknown> & { environment: 'live' | 'test' }) {
  const key = generateGatewayKey(columns.environment);
  const [row] = await trx('gateway_keys')
    .insert({
      id: crypto.randomUUID(),
      key_hash: hashGatewayKey(key),
      key_hint: formatGatewayKeyHint(gatewayKeyHint(key)),
      ...columns,
    })
    .returning('*');
  return { row: row as GatewayKeyRow, key };
}

export async function createGatewayKey(deps: KeyServiceDeps, access: KeyAccess, input: CreateKeyInput, actor: AuditActor): Promise<IssuedKey> {
  const ownerId = input.userId ?? access.userId;
  if (!ownerId) throw new AppError('invalid_request', 'userId is required', { param: 'userId' });
  if (ownerId !== access.userId && !access.all) throw new AppError('forbidden', 'You may only create API keys for yourself');
  assertFuture(deps, input.expiresAt);
  await assertServicesExist(deps.db, input.services);
  const now = deps.clock.now();
  const issued = await deps.db.transaction(async (trx) => {
    const owner = await trx('users').where({ id: ownerId }).first('id', 'disabled');
    if (!owner) throw notFound('User');
    if (owner.disabled) throw new AppError('conflict', 'The user is disabled');
    if (input.teamId && !(await teamRoleOf(trx, input.teamId, ownerId))) {
      throw fieldError('teamId', "is not a team the key's owner belongs to");
    }
    // an admin's restrictions are locked for the owner; an owner's own key stays inside their plan
    const locks = access.all ? locksAfterAdminChange({}, input) : null;
    if (!access.all) assertWithinPlan(await ownerPlan(trx, ownerId), input);
    const { row, key } = await insertKey(trx, {
      ...restrictionColumns(input), user_id: ownerId, team_id: input.teamId ?? null, environment: input.environment, admin_restrictions: jsonb(locks),
    });
    const record = presentGatewayKey(row, now);
    await recordAudit(trx, actor, { action: 'api_key.create', targetType: 'api_key', targetId: row.id, after: record });
    return { record, key };
  });
  // Drops negative cache entries everywhere, so the new key works on every node at once.
  await announceKeyChange(deps, [issued.record.id]);
  return issued;
}

export interface KeyListFilter {
  userId?: string;
  /** the keys of one team: admins, or a team admin of that team */
  teamId?: string;
  status?: 'active' | 'revoked' | 'expired';
  environment?: 'live' | 'test';
  limit: number;
  offset: number;
}

export async function listGatewayKeys(deps: KeyServiceDeps, access: KeyAccess, filter: KeyListFilter) {
  if (filter.userId && !access.all && filter.teamId === undefined && filter.userId !== access.userId) {
    throw new AppError('forbidden', "You may only list your own API keys");
  }
  const teamScoped = filter.teamId !== undefined && !access.all;
  if (teamScoped && (!access.userId || (await teamRoleOf(deps.db, filter.teamId!, access.userId)) !== 'team_admin')) {
    throw new AppError('forbidden', "Only an admin or a team admin of this team may list the team's API keys");
  }
  // A team admin's team listing spans the team's keys, whoever owns them (optionally narrowed by ?userId=).
  const userId = access.all || teamScoped ? filter.userId : access.userId;
  const now = new Date(deps.clock.now());
  const query = deps.db('gateway_keys');
  if (filter.teamId) query.where({ team_id: filter.teamId });
  if (userId) query.where({ user_id: userId });
  if (filter.environment) query.where({ environment: filter.environment });
  if (filter.status === 'revoked') query.where({ status: 'revoked' });
  if (filter.status === 'active') query.where({ status: 'active' }).andWhere((q) => q.whereNull('expires_at').orWhere('expires_at', '>', now));
  if (filter.status === 'expired') query.where({ status: 'active' }).andWhere('expires_at', '<=', now);
  const [{ count }] = await query.clone().count({ count: '*' });
  const rows = (await query.orderBy([{ column: 'created_at', order: 'desc' }, { column: 'id', order: 'desc' }])
    .limit(filter.limit)
    .offset(filter.offset)) as GatewayKeyRow[];
  return { data: rows.map((r) => presentGatewayKey(r, now.getTime())), total: Number(count), limit: filter.limit, offset: filter.offset };
}

export async function getGatewayKey(deps: KeyServiceDeps, access: KeyAccess, id: string): Promise<PresentedGatewayKey> {
  return presentGatewayKey(await findAccessibleKey(deps.db, access, id, false, true), deps.clock.now());
}

export async function updateGatewayKey(
  deps: KeyServiceDeps,
  access: KeyAccess,
  id: string,
  input: UpdateKeyInput,
  actor: AuditActor,
): Promise<PresentedGatewayKey> {
  assertFuture(deps, input.expiresAt);
  await assertServicesExist(deps.db, input.services);
  const now = deps.clock.now();
  const { teamId, ...fields } = input;
  const move = teamId !== undefined;
  const changesFields = Object.values(fields).some((v) => v !== undefined);
  const record = await deps.db.transaction(async (trx) => {
    const before = move ? await findKeyToMove(trx, access, id, teamId) : await findAccessibleKey(trx, access, id, true);
    if (before.status === 'revoked') throw new AppError('conflict', 'A revoked API key cannot be changed');
    if (changesFields && !access.all && before.user_id !== access.userId) {
      throw new AppError('forbidden', "A team admin may move a member's key between teams, not change the key itself");
    }
    const locks = adminRestrictionsOf(before.admin_restrictions);
    const lockChange: Record<string, unknown> = {};
    if (access.all) {
      if (changesFields) lockChange.admin_restrictions = jsonb(locksAfterAdminChange(locks, fields));
    } else if (changesFields) {
      assertNarrowsAdminRestrictions(locks, fields);
      assertWithinPlan(await ownerPlan(trx, before.user_id), fields);
    }
    // a key's share of its team's budget belongs to that team: it does not follow the key to another one
    const teamChange = move && teamId !== (before.team_id ?? null) ? { team_id: teamId, team_budget_micros: null } : {};
    const [after] = (await trx('gateway_keys')
      .where({ id })
      .update({ ...restrictionColumns(fields), ...lockChange, ...teamChange, updated_at: new Date(now) })
      .returning('*')) as GatewayKeyRow[];
    const presented = presentGatewayKey(after, now);
    await recordAudit(trx, actor, {
      action: 'api_key.update', targetType: 'api_key', targetId: id, before: presentGatewayKey(before, now), after: presented,
    });
    return presented;
  });
  await announceKeyChange(deps, [id]);
  return record;
}

/**
 * The key a PATCH with `teamId` may move, locked: admins reach every key. Anyone else must be a team admin of the
 * team the key leaves (if any) and of the team it joins (if any), and the key's owner must be a member of the team
 * it joins: a developer cannot take their key out of a team (that would lift its team's ceilings and budgets). A
 * key the caller can neither own nor reach through a team they administer is not found.
 */
async function findKeyToMove(trx: Knex, access: KeyAccess, id: string, target: string | null): Promise<GatewayKeyRow> {
  if (!isUuid(id)) throw notFound('API key');
  const row = (await trx('gateway_keys').where({ id }).forUpdate().first()) as GatewayKeyRow | undefined;
  if (!row) throw notFound('API key');
  const ownerIsMember = async () => target !== null && (await teamRoleOf(trx, target, row.user_id)) !== null;
  if (access.all) {
    if (target !== null && !(await ownerIsMember())) throw fieldError('teamId', "is not a team the key's owner belongs to");
    return row;
  }
  const actor = access.userId;
  const adminOf = async (teamId: string | null | undefined) => !!teamId && !!actor && (await teamRoleOf(trx, teamId, actor)) === 'team_admin';
  const source = row.team_id ?? null;
  const adminOfSource = await adminOf(source);
  const adminOfTarget = await adminOf(target);
  const memberOfTarget = await ownerIsMember();
  if (row.user_id !== actor && !adminOfSource && !(adminOfTarget && memberOfTarget)) throw notFound('API key');
  if (source === target) return row;
  if (source !== null && !adminOfSource) throw new AppError('forbidden', "Only an admin or a team admin of the key's team may move it out of that team");
  if (target !== null && !adminOfTarget) throw new AppError('forbidden', 'Only an admin or a team admin of that team may move a key into it');
  if (target !== null && !memberOfTarget) throw fieldError('teamId', "is not a team the key's owner belongs to");
  return row;
}

/** Idempotent: revoking a revoked key returns it unchanged and writes no second audit row. */
export async function revokeGatewayKey(
  deps: KeyServiceDeps,
  access: KeyAccess,
  id: string,
  reason: string | undefined,
  actor: AuditActor,
): Promise<PresentedGatewayKey> {
  const now = deps.clock.now();
  const { record, changed } = await deps.db.transaction(async (trx) => {
    const before = await findAccessibleKey(trx, access, id, true, true);
    if (before.status === 'revoked') return { record: presentGatewayKey(before, now), changed: false };
    const [after] = (await trx('gateway_keys')
      .where({ id })
      .update({ status: 'revoked', revoked_at: new Date(now), revoked_reason: reason ?? null, updated_at: new Date(now) })
      .returning('*')) as GatewayKeyRow[];
    const presented = presentGatewayKey(after, now);
    await recordAudit(trx, actor, {
      action: 'api_key.revoke', targetType: 'api_key', targetId: id, before: presentGatewayKey(before, now), after: presented,
    });
    return { record: presented, changed: true };
  });
  if (changed) await announceKeyChange(deps, [id]);
  return record;
}

export function isRotatable(row: GatewayKeyRow, nowMs: number): string | null {
  if (row.replaced_by) return 'the key has already been rotated';
  const status = keyStatus(row, nowMs);
  return status === 'active' ? null : `the key is ${status}`;
}
