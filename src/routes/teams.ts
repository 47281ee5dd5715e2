import type { Deps } from '../deps';
import type { Api } from '../http/api';
import { AppContext, auditActor } from '../http/context';
import {
  addMemberSchema, changeMemberSchema, createTeamSchema, memberParams, teamIdParams, updateTeamSchema,
} from '../teams/schemas';
import {
  addMember, changeMemberRole, createTeam, deleteTeam, getTeam, listMembers, listTeams, removeMember, updateTeam,
} from '../teams/service';
import { getTeamBudget, setTeamBudget, teamBudgetResponse, teamBudgetSchema } from '../teams/budget';

const user = (ctx: AppContext) => ctx.state.user!;

/**
 * /teams: org admins create and change teams (their ceilings and budget); a team admin manages the members
 * of their own team and splits its budget (never raising it); a member reads their team.
 */
export function teamsRoutes(deps: Deps, api: (tag: string) => Api) {
  return api('Teams')
    .route(
      { method: 'post', path: '/teams', summary: 'Create a team (monthlyBudget: its budget per period, monthly unless PUT /teams/:id/budget sets another)', auth: 'jwt', permission: 'teams:write', body: createTeamSchema, status: 201 },
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
      { method: 'patch', path: '/teams/:id', summary: "Change a team's name, ceilings or budget amount; admins only", auth: 'jwt', permission: 'teams:write', params: teamIdParams, body: updateTeamSchema },
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
      { method: 'get', path: '/teams/:id/budget', summary: "A team's budget, period, per-member and per-key shares and what each spent this period (admins, or a team admin of that team)", auth: 'jwt', params: teamIdParams, response: teamBudgetResponse },
      (ctx, { params }) => getTeamBudget(deps, user(ctx), params.id),
    )
    .route(
      {
        method: 'put',
        path: '/teams/:id/budget',
        summary: "Set a team's budget and period (raising it or changing the period: admins only) and split it per member and key (admins, or a team admin of that team); a share above the team's budget → 422 budget_exceeds_team",
        auth: 'jwt',
        params: teamIdParams,
        body: teamBudgetSchema,
        response: teamBudgetResponse,
      },
      (ctx, { params, body }) => setTeamBudget(deps, user(ctx), params.id, body, auditActor(ctx)),
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
