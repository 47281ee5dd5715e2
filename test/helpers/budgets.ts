import type { GatewayNode } from './second-node';
import type { TestGateway } from './gateway';
import { createGatewayKey } from './keys';
import { makePlan } from './limits';

/**
 * A team with a budget, one member (its key's owner, on a plan with a roomy monthly budget) and one key of theirs in
 * the team (with a roomy monthly budget of its own): every level of the chain present, each as given.
 */
export interface TeamSetup {
  teamId: string;
  userId: string;
  token: string;
  key: string;
  keyId: string;
}

let seq = 0;

export async function teamWithKey(
  gw: TestGateway,
  admin: string,
  budget: { budget?: number | null; period?: string; member?: number | null; key?: number | null } = {},
): Promise<TeamSetup> {
  const slug = `team-${++seq}-${Date.now().toString(36)}`;
  const team = await gw.request('/teams', { token: admin, body: { name: slug, slug } });
  if (team.status !== 201) throw new Error(`POST /teams answered ${team.status}: ${team.text}`);
  const teamId = team.body.id as string;
  const { user, token } = await gw.user('developer', undefined, await makePlan(gw, { monthlyCreditsMicros: 1_000_000_000 }));
  const added = await gw.request(`/teams/${teamId}/members`, { token: admin, body: { userId: user.id, role: 'member' } });
  if (added.status !== 201) throw new Error(`POST members answered ${added.status}: ${added.text}`);
  const { key, id: keyId } = await createGatewayKey(gw, token, { teamId, monthlyCredits: 1000 });
  const body: Record<string, unknown> = {};
  if (budget.budget !== undefined) body.budget = budget.budget;
  if (budget.period !== undefined) body.period = budget.period;
  if (budget.member !== undefined) body.members = [{ userId: user.id, budget: budget.member }];
  if (budget.key !== undefined) body.keys = [{ keyId, budget: budget.key }];
  if (Object.keys(body).length) await putTeamBudget(gw, admin, teamId, body);
  return { teamId, userId: user.id, token, key, keyId };
}

export async function putTeamBudget(gw: Pick<GatewayNode, 'request'>, token: string, teamId: string, body: Record<string, unknown>) {
  const res = await gw.request(`/teams/${teamId}/budget`, { method: 'PUT', token, body });
  if (res.status !== 200) throw new Error(`PUT /teams/${teamId}/budget answered ${res.status}: ${res.text}`);
  return res.body;
}

export async function putOrgBudget(gw: Pick<GatewayNode, 'request'>, token: string, budget: number | null, period = 'monthly') {
  const res = await gw.request('/org/budget', { method: 'PUT', token, body: { budget, period } });
  if (res.status !== 200) throw new Error(`PUT /org/budget answered ${res.status}: ${res.text}`);
  return res.body;
}
