import type { Deps } from '../deps';
import type { Api } from '../http/api';
import { AppContext, auditActor } from '../http/context';
import {
  addMemberSchema, changeMemberSchema, createTeamSchema, memberParams, teamIdParams, updateTeamSchema,
} from '../teams/schemas';
import {
  addMember, changeMemberRole, createTeam, deleteTeam, getTeam, listMembers, listTeams, removeMember, updateTeam,
} from '../teams/service';

const user = (ctx: AppContext) => ctx.state.user!;

/**
 * /teams: org admins create and change teams (their ceilings and budget); a team admin manages the members
 * of their own team; a member reads their team. The monthly budget is stored, not yet enforced.
 */
export function teamsRoutes(deps: Deps, api: (tag: string) => Api) {
  return api('Teams')
    .route(
      { method: 'post', path: '/teams', summary: 'Create a team (its monthly budget is stored, not yet enforced)', auth: 'jwt', permission: 'teams:write', body: createTeamSchema, status: 201 },
      (ctx, { body }) => createTeam(deps, body, auditActor(ctx)),
    )
    .route(
      { method: 'get', path: '/teams', summary: 'List teams (admins: all; others: the teams they belong to)', auth: 'jwt' },
      (ctx) => listTeams(deps, user(ctx)),
    )
    .route(
      { method: 'get', path: '/teams/:id', summary: 'One team (admins, or its members)', auth: 'jwt', params: teamIdParams },
      (ctx, { params }) => getTeam(deps, user(ctx), params.id),
    )
    .route(
      { method: 'patch', path: '/teams/:id', summary: "Change a team's name, ceilings or budget (budget not yet enforced); admins only", auth: 'jwt', permission: 'teams:write', params: teamIdParams, body: updateTeamSchema },
      (ctx, { params, body }) => updateTeam(deps, params.id, body, auditActor(ctx)),
    )
    .route(
      { method: 'delete', path: '/teams/:id', summary: 'Delete a team (refused while it has active keys)', auth: 'jwt', permission: 'teams:write', params: teamIdParams },
      async (ctx, { params }) => {
        await deleteTeam(deps, params.id, auditActor(ctx));
        ctx.status = 204;
      },
    )
    .route(
      { method: 'get', path: '/teams/:id/members', summary: "A team's members (admins, or a team admin of that team)", auth: 'jwt', params: teamIdParams },
      (ctx, { params }) => listMembers(deps, user(ctx), params.id),
    )
    .route(
      { method: 'post', path: '/teams/:id/members', summary: 'Add a member (role team_admin or member)', auth: 'jwt', params: teamIdParams, body: addMemberSchema, status: 201 },
      (ctx, { params, body }) => addMember(deps, user(ctx), params.id, body, auditActor(ctx)),
    )
    .route(
      { method: 'patch', path: '/teams/:id/members/:userId', summary: "Change a member's team role", auth: 'jwt', params: memberParams, body: changeMemberSchema },
      (ctx, { params, body }) => changeMemberRole(deps, user(ctx), params.id, params.userId, body.role, auditActor(ctx)),
    )
    .route(
      { method: 'delete', path: '/teams/:id/members/:userId', summary: 'Remove a member from a team', auth: 'jwt', params: memberParams },
      async (ctx, { params }) => {
        await removeMember(deps, user(ctx), params.id, params.userId, auditActor(ctx));
        ctx.status = 204;
      },
    ).router;
}
