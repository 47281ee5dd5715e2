import type { Knex } from 'knex';
import { can } from '../auth/permissions';
import type { SessionUser } from '../http/context';
import { forbidden } from '../http/errors';

/**
 * Team roles are per team, kept in team_members; org roles (auth/permissions.ts) are not touched by them.
 * An org admin (`teams:write`) reaches every team; a team admin manages the members (and the keys) of their
 * own team only; a member may read their team.
 */
export type TeamRole = 'team_admin' | 'member';
export const TEAM_ROLES: TeamRole[] = ['team_admin', 'member'];

export const isOrgTeamAdmin = (user: Pick<SessionUser, 'role'>) => can(user.role, 'teams:write');

export async function teamRoleOf(db: Knex, teamId: string, userId: string): Promise<TeamRole | null> {
  const row = await db('team_members').where({ team_id: teamId, user_id: userId }).first('role');
  return (row?.role as TeamRole | undefined) ?? null;
}

/** Ids of the teams where the user is a team admin (for scoping key listings and revocations). */
export function teamsAdministeredBy(db: Knex, userId: string): Knex.QueryBuilder {
  return db('team_members').where({ user_id: userId, role: 'team_admin' }).select('team_id');
}

/** Reading a team: an org admin, or any member of it. */
export async function assertCanReadTeam(db: Knex, user: SessionUser, teamId: string): Promise<void> {
  if (isOrgTeamAdmin(user)) return;
  if (!(await teamRoleOf(db, teamId, user.id))) throw forbidden('You are not a member of this team');
}

/** Managing a team's members: an org admin, or a team admin of THAT team. */
export async function assertCanManageMembers(db: Knex, user: SessionUser, teamId: string): Promise<void> {
  if (isOrgTeamAdmin(user)) return;
  if ((await teamRoleOf(db, teamId, user.id)) !== 'team_admin') {
    throw forbidden("Only an admin or a team admin of this team may manage the team's members");
  }
}
