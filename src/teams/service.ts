import crypto from 'node:crypto';
import type { Knex } from 'knex';
import type { Deps } from '../deps';
import { AuditActor, recordAudit } from '../audit/audit';
import { isUniqueViolation } from '../store/db';
import { badRequest, conflict, notFound } from '../http/errors';
import type { SessionUser } from '../http/context';
import { jsonb } from '../keys/service';
import { jsonValue } from '../keys/lookup';
import { encodeChange, TEAMS_CHANGED } from '../keys/events';
import { assertCanManageMembers, assertCanReadTeam, isOrgTeamAdmin, TeamRole } from './access';
import { CreateTeamInput, UpdateTeamInput, usdFromMicros } from './schemas';

/** Teams and their members. Every change is audited, with the acting user, in its own transaction. */

export type TeamDeps = Pick<Deps, 'db' | 'kv' | 'logger' | 'keys' | 'clock'>;

interface TeamRow {
  id: string;
  name: string;
  slug: string;
  monthly_budget_micros: number | string | null;
  budget_period?: string;
  rpm: number | null;
  tpm: number | null;
  services: unknown;
  models: unknown;
  own_pool_only?: boolean;
  created_at: Date;
  updated_at: Date;
}

/** The fields of a team that may leave the service. */
export function presentTeam(t: TeamRow) {
  return {
    id: t.id,
    name: t.name,
    slug: t.slug,
    monthlyBudget: usdFromMicros(t.monthly_budget_micros === null ? null : Number(t.monthly_budget_micros)),
    budgetPeriod: t.budget_period ?? 'monthly',
    rpm: t.rpm,
    tpm: t.tpm,
    services: jsonValue<string[]>(t.services),
    models: jsonValue<string[]>(t.models),
    ownPoolOnly: t.own_pool_only === true,
    createdAt: t.created_at,
    updatedAt: t.updated_at,
  };
}

function presentMember(m: { user_id: string; role: TeamRole; created_at: Date; email?: string }) {
  return { userId: m.user_id, email: m.email, role: m.role, createdAt: m.created_at };
}

function columnsOf(input: Partial<CreateTeamInput>): Record<string, unknown> {
  const cols: Record<string, unknown> = {};
  if (input.name !== undefined) cols.name = input.name;
  if (input.slug !== undefined) cols.slug = input.slug;
  if (input.monthlyBudget !== undefined) cols.monthly_budget_micros = input.monthlyBudget;
  if (input.rpm !== undefined) cols.rpm = input.rpm;
  if (input.tpm !== undefined) cols.tpm = input.tpm;
  if (input.services !== undefined) cols.services = jsonb(input.services);
  if (input.models !== undefined) cols.models = jsonb(input.models);
  if (input.ownPoolOnly !== undefined) cols.own_pool_only = input.ownPoolOnly;
  return cols;
}

async function assertServicesExist(trx: Knex, services: string[] | null | undefined): Promise<void> {
  if (!services?.length) return;
  const known = new Set<string>(await trx('services').whereIn('slug', services).pluck('slug'));
  const unknown = services.filter((s) => !known.has(s));
  if (unknown.length) {
    throw badRequest(`Unknown service: ${unknown.join(', ')}`, { param: 'services', details: [{ path: 'body.services', message: 'unknown service' }] });
  }
}

async function teamOrNotFound(db: Knex, id: string, forUpdate = false): Promise<TeamRow> {
  const q = db<TeamRow>('teams').where({ id });
  if (forUpdate) q.forUpdate();
  const row = await q.first();
  if (!row) throw notFound('Team');
  return row as TeamRow;
}

/** Cached key principals carry their team's ceilings: every node drops them (this one at once). */
async function announce(deps: TeamDeps, id: string): Promise<void> {
  deps.keys.invalidateAll();
  try {
    await deps.kv.publish(TEAMS_CHANGED, encodeChange([id]));
  } catch (err) {
    deps.logger.warn({ teamId: id, reason: (err as Error).message }, 'teams: could not announce a team change; other nodes pick it up when their key cache expires');
  }
}

const slugTaken = () => conflict('A team with this slug already exists', { param: 'slug' });

export async function createTeam(deps: TeamDeps, input: CreateTeamInput, actor: AuditActor) {
  try {
    return await deps.db.transaction(async (trx) => {
      await assertServicesExist(trx, input.services);
      const [row] = await trx<TeamRow>('teams').insert({ id: crypto.randomUUID(), ...columnsOf(input) }).returning('*');
      const after = presentTeam(row as TeamRow);
      await recordAudit(trx, actor, { action: 'team.create', targetType: 'team', targetId: after.id, after });
      return after;
    });
  } catch (err) {
    if (isUniqueViolation(err)) throw slugTaken();
    throw err;
  }
}

/** An org admin sees every team; anyone else the teams they belong to. */
export async function listTeams(deps: TeamDeps, user: SessionUser) {
  const q = deps.db<TeamRow>('teams').select('teams.*').orderBy('teams.slug');
  if (!isOrgTeamAdmin(user)) q.join('team_members as m', 'm.team_id', 'teams.id').where('m.user_id', user.id);
  return { data: ((await q) as TeamRow[]).map(presentTeam) };
}

export async function getTeam(deps: TeamDeps, user: SessionUser, id: string) {
  await assertCanReadTeam(deps.db, user, id);
  return presentTeam(await teamOrNotFound(deps.db, id));
}

export async function updateTeam(deps: TeamDeps, id: string, input: UpdateTeamInput, actor: AuditActor) {
  const now = new Date(deps.clock.now());
  const after = await deps.db.transaction(async (trx) => {
    const before = await teamOrNotFound(trx, id, true);
    await assertServicesExist(trx, input.services);
    const [row] = await trx<TeamRow>('teams').where({ id }).update({ ...columnsOf(input), updated_at: now }).returning('*');
    const presented = presentTeam(row as TeamRow);
    await recordAudit(trx, actor, { action: 'team.update', targetType: 'team', targetId: id, before: presentTeam(before), after: presented });
    return presented;
  });
  await announce(deps, id);
  return after;
}

/** Refused while active keys belong to the team: deleting it would silently lift their ceilings. */
export async function deleteTeam(deps: TeamDeps, id: string, actor: AuditActor): Promise<void> {
  await deps.db.transaction(async (trx) => {
    const before = await teamOrNotFound(trx, id, true);
    const [{ count }] = await trx('gateway_keys').where({ team_id: id, status: 'active' }).count({ count: '*' });
    if (Number(count) > 0) {
      throw conflict(`The team still has ${count} active API key(s); revoke them (or move them) first`);
    }
    // its wallet entries would otherwise have to become everyone's (or vanish): the admin decides which
    const [{ entries }] = await trx('wallet_entries').where({ team_id: id }).count({ entries: '*' });
    if (Number(entries) > 0) {
      throw conflict(`The team's own pool still has ${entries} wallet entr${Number(entries) === 1 ? 'y' : 'ies'}; move them to the shared pool or delete them first`);
    }
    await trx('teams').where({ id }).delete();
    await recordAudit(trx, actor, { action: 'team.delete', targetType: 'team', targetId: id, before: presentTeam(before) });
  });
  await announce(deps, id);
}

export async function listMembers(deps: TeamDeps, user: SessionUser, teamId: string) {
  await assertCanManageMembers(deps.db, user, teamId);
  await teamOrNotFound(deps.db, teamId);
  const rows = await deps.db('team_members as m')
    .join('users as u', 'u.id', 'm.user_id')
    .where('m.team_id', teamId)
    .orderBy('u.email')
    .select('m.user_id', 'm.role', 'm.created_at', 'u.email');
  return { data: rows.map(presentMember) };
}

export async function addMember(deps: TeamDeps, user: SessionUser, teamId: string, input: { userId: string; role: TeamRole }, actor: AuditActor) {
  await assertCanManageMembers(deps.db, user, teamId);
  try {
    return await deps.db.transaction(async (trx) => {
      await teamOrNotFound(trx, teamId, true);
      const target = await trx('users').where({ id: input.userId }).first('id', 'email');
      if (!target) throw notFound('User');
      const [row] = await trx('team_members').insert({ team_id: teamId, user_id: input.userId, role: input.role }).returning('*');
      const after = presentMember({ ...row, email: target.email });
      await recordAudit(trx, actor, { action: 'team.member_add', targetType: 'team', targetId: teamId, after });
      return after;
    });
  } catch (err) {
    if (isUniqueViolation(err)) throw conflict('The user is already a member of this team', { param: 'userId' });
    throw err;
  }
}

export async function changeMemberRole(deps: TeamDeps, user: SessionUser, teamId: string, userId: string, role: TeamRole, actor: AuditActor) {
  await assertCanManageMembers(deps.db, user, teamId);
  return deps.db.transaction(async (trx) => {
    const before = await trx('team_members').where({ team_id: teamId, user_id: userId }).forUpdate().first();
    if (!before) throw notFound('Team member');
    const [row] = await trx('team_members').where({ team_id: teamId, user_id: userId }).update({ role }).returning('*');
    const after = presentMember(row);
    await recordAudit(trx, actor, { action: 'team.member_update', targetType: 'team', targetId: teamId, before: presentMember(before), after });
    return after;
  });
}

export async function removeMember(deps: TeamDeps, user: SessionUser, teamId: string, userId: string, actor: AuditActor): Promise<void> {
  await assertCanManageMembers(deps.db, user, teamId);
  await deps.db.transaction(async (trx) => {
    const before = await trx('team_members').where({ team_id: teamId, user_id: userId }).forUpdate().first();
    if (!before) throw notFound('Team member');
    await trx('team_members').where({ team_id: teamId, user_id: userId }).delete();
    await recordAudit(trx, actor, { action: 'team.member_remove', targetType: 'team', targetId: teamId, before: presentMember(before) });
  });
}
