import { startTestGateway, TestGateway } from '../helpers/gateway';
import { TEST_BACKEND } from '../helpers/backend';
import { movableClock, tally } from '../helpers/limits';
import { putOrgBudget, putTeamBudget, teamWithKey } from '../helpers/budgets';
import { createGatewayKey } from '../helpers/keys';
import type { Admission } from '../../src/limits/service';
import type { BudgetUsageSample } from '../../src/alerts/types';

/**
 * Issue 17: budgets exact at every level of the chain (key, user, the key's and the member's share of the team
 * budget, team, organisation), reserved in ONE atomic admit; periods in BUDGET_TIME_ZONE; the budget API and its
 * rule that a team admin never widens. On the embedded backend this is the single process; budgets.multinode
 * runs the same counts across two nodes on PostgreSQL + Redis.
 */
describe(`budgets along the chain (${TEST_BACKEND})`, () => {
  // 23:00 in New York on 14 January: the budget day ends at 05:00 UTC
  const clock = movableClock('2030-01-15T04:00:00.000Z');
  let gw: TestGateway;
  let admin: string;
  let adminId: string;
  beforeAll(async () => {
    gw = await startTestGateway({ clock, env: { BUDGET_TIME_ZONE: 'America/New_York' } });
    const a = await gw.user('admin');
    admin = a.token;
    adminId = a.user.id;
    await putOrgBudget(gw, admin, 1_000_000); // roomy: present on every call below unless a test says otherwise
  });
  afterAll(() => gw.close());

  const principal = async (key: string) => (await gw.deps.keys.verify(key)).principal;
  const cost = (micros: number) => ({ estimatedTokens: 0, estimatedCostMicros: micros });
  const burst = async (key: string, n = 300, micros = 1000) => {
    const p = await principal(key);
    return tally(Array.from({ length: n }, () => gw.deps.limits.admit(p, cost(micros))));
  };
  const refusedScopes = async (key: string) => {
    const err = await gw.deps.limits.admit(await principal(key), cost(1000)).catch((e) => e);
    return { code: err.code, scope: err.details?.scope, message: String(err.message) };
  };

  it('admits exactly 40 of 300 concurrent calls against a team budget that fits 40, the other levels roomy', async () => {
    const t = await teamWithKey(gw, admin, { budget: 0.04 });
    const { ok, refused } = await burst(t.key);
    expect(ok.length).toBe(40);
    expect(refused).toEqual({ insufficient_credits: 260 });
    expect(await refusedScopes(t.key)).toMatchObject({ code: 'insufficient_credits', scope: 'team', message: expect.stringContaining("this API key's team") });
    // every level of the chain was reserved in that one step: key, user, team, organisation
    expect(ok[0].budgets.map((b) => b.scope)).toEqual(['key', 'user', 'team', 'org']);
    const view = (await gw.request(`/teams/${t.teamId}/budget`, { token: admin })).body;
    expect(view).toMatchObject({ budget: 0.04, period: 'monthly', periodLabel: '2030-01', spent: 0.04, remaining: 0, timeZone: 'America/New_York' });
  });

  it('admits exactly 40 against a member share that fits 40 inside a roomy team budget', async () => {
    const t = await teamWithKey(gw, admin, { budget: 1, member: 0.04 });
    const { ok, refused } = await burst(t.key);
    expect(ok.length).toBe(40);
    expect(refused).toEqual({ insufficient_credits: 260 });
    expect((await refusedScopes(t.key)).scope).toBe('member');
    // a second key of the same member shares the member's budget
    const second = await createGatewayKey(gw, t.token, { teamId: t.teamId });
    expect((await refusedScopes(second.key)).scope).toBe('member');
  });

  it("admits exactly 40 against a key's share of the team budget", async () => {
    const t = await teamWithKey(gw, admin, { budget: 1, key: 0.04 });
    const { ok } = await burst(t.key);
    expect(ok.length).toBe(40);
    expect((await refusedScopes(t.key)).scope).toBe('team_key');
    expect(ok[0].budgets.map((b) => b.scope)).toEqual(['key', 'user', 'team_key', 'team', 'org']);
  });

  it('admits exactly 40 against an organisation budget above roomy team budgets, and exactly 40 again after its daily reset', async () => {
    clock.set('2030-01-20T12:00:00.000Z'); // a day nothing has been spent in yet
    const [t1, t2] = [await teamWithKey(gw, admin, { budget: 1 }), await teamWithKey(gw, admin, { budget: 1 })];
    await putOrgBudget(gw, admin, 0.04, 'daily');
    try {
      const [p1, p2] = [await principal(t1.key), await principal(t2.key)];
      const { ok, refused } = await tally(Array.from({ length: 300 }, (_, i) => gw.deps.limits.admit(i % 2 ? p1 : p2, cost(1000))));
      expect(ok.length).toBe(40);
      expect(refused).toEqual({ insufficient_credits: 260 });
      expect(await refusedScopes(t1.key)).toMatchObject({ scope: 'org', message: expect.stringContaining('the organisation') });
      expect((await gw.request('/org/budget', { token: admin })).body).toMatchObject({ budget: 0.04, period: 'daily', periodLabel: '2030-01-20', spent: 0.04, remaining: 0 });
      clock.set('2030-01-21T04:59:59.999Z'); // still 20 January in New York
      expect((await refusedScopes(t1.key)).scope).toBe('org');
      clock.set('2030-01-21T05:00:00.000Z');
      const again = await tally(Array.from({ length: 300 }, (_, i) => gw.deps.limits.admit(i % 2 ? p1 : p2, cost(1000))));
      expect(again.ok.length).toBe(40);
      clock.advance(6 * 3_600_000); // later the same day: no second reset
      expect((await refusedScopes(t2.key)).scope).toBe('org');
    } finally {
      await putOrgBudget(gw, admin, 1_000_000);
    }
  });

  it("starts the team's and the member's counters from what the database recorded for them this period (a counter Redis lost)", async () => {
    clock.set('2030-05-12T15:00:00.000Z');
    const t = await teamWithKey(gw, admin, { budget: 0.04, member: 0.04 });
    // as the usage writer records calls: the wide hourly rollup (member, key) and the slim one (team, organisation)
    const record = async (r: { hour: string; team_id?: string; cost_micros: number; status_class: string }) => {
      const hour = new Date(r.hour);
      await gw.deps.db('usage_hourly').insert({ ...r, hour, gateway_key_id: t.keyId, user_id: t.userId, requests: 1 });
      await gw.deps.db('usage_hourly_slim').insert({ ...r, hour, requests: 1 });
    };
    await record({ hour: '2030-05-12T09:00:00.000Z', team_id: t.teamId, status_class: '2xx', cost_micros: 30_000 });
    // the same key's calls outside the team (before it joined) and last month's do not count
    await record({ hour: '2030-05-12T09:00:00.000Z', status_class: '4xx', cost_micros: 500_000 });
    await record({ hour: '2030-04-30T03:00:00.000Z', team_id: t.teamId, status_class: '2xx', cost_micros: 500_000 });
    const { ok } = await burst(t.key, 50);
    expect(ok.length).toBe(10);
    expect((await gw.request(`/teams/${t.teamId}/budget`, { token: admin })).body).toMatchObject({ spent: 0.04 });
  });

  it('resets a daily team budget exactly once at midnight in BUDGET_TIME_ZONE', async () => {
    clock.set('2030-02-10T04:30:00.000Z'); // 23:30 on 9 February in New York
    const t = await teamWithKey(gw, admin, { budget: 0.04, period: 'daily' });
    expect((await burst(t.key)).ok.length).toBe(40);
    clock.set('2030-02-10T04:59:59.000Z');
    expect((await burst(t.key, 50)).ok.length).toBe(0);
    clock.set('2030-02-10T05:00:00.000Z');
    expect((await burst(t.key)).ok.length).toBe(40);
    clock.set('2030-02-11T04:59:00.000Z'); // the rest of 10 February: nothing more
    expect((await burst(t.key, 50)).ok.length).toBe(0);
  });

  it('frees a rolling 24 h budget as its spending leaves the window, not at midnight', async () => {
    clock.set('2030-03-01T10:10:00.000Z');
    const t = await teamWithKey(gw, admin, { budget: 0.04, period: 'rolling_24h' });
    expect((await burst(t.key, 100)).ok.length).toBe(40);
    clock.set('2030-03-02T05:30:00.000Z'); // past midnight in New York: a rolling window does not care
    expect((await burst(t.key, 10)).ok.length).toBe(0);
    clock.set('2030-03-02T11:00:00.000Z'); // 24 h 50 min later: the 10:00 bucket has left the window
    expect((await burst(t.key, 100)).ok.length).toBe(40);
  });

  it('settles every level to the real cost, refunds a failed call, and reports each level after settling', async () => {
    clock.set('2030-04-10T12:00:00.000Z');
    const t = await teamWithKey(gw, admin, { budget: 0.02, member: 0.02 });
    const samples: BudgetUsageSample[][] = [];
    const wired = gw.deps.budgetObserver;
    gw.deps.budgetObserver = { observe: (s) => samples.push([...s]) };
    try {
      const p = await principal(t.key);
      const a = await gw.deps.limits.admit(p, cost(10_000));
      const b = await gw.deps.limits.admit(p, cost(10_000));
      await expect(gw.deps.limits.admit(p, cost(1))).rejects.toMatchObject({ code: 'insufficient_credits' });
      await gw.deps.limits.settle(a, { tokens: 0, costMicros: 1000 });
      await gw.deps.limits.refund(b);
      const c: Admission = await gw.deps.limits.admit(p, cost(19_000)); // 1000 + 19 000 = the budget exactly
      await expect(gw.deps.limits.admit(p, cost(1))).rejects.toMatchObject({ code: 'insufficient_credits' });
      await gw.deps.limits.settle(c, { tokens: 0, costMicros: 19_000 }); // exact estimate: no adjustment, still reported
      expect(samples).toHaveLength(2); // settles report, the refund does not
      const byScope = (s: BudgetUsageSample[]) => Object.fromEntries(s.map((x) => [x.scope, x]));
      expect(byScope(samples[0])).toMatchObject({
        team: { scopeId: t.teamId, period: '2030-04', spentMicros: 11_000, budgetMicros: 20_000, teamId: t.teamId },
        member: { scopeId: `${t.teamId}:${t.userId}`, spentMicros: 11_000, budgetMicros: 20_000 },
        org: { scopeId: 'org', teamId: null },
        key: { scopeId: t.keyId },
        user: { scopeId: t.userId },
      });
      expect(byScope(samples[1])).toMatchObject({ team: { spentMicros: 20_000 }, member: { spentMicros: 20_000 } });
    } finally {
      gw.deps.budgetObserver = wired;
    }
  });

  it('leaves a key in no team, with no organisation budget, exactly as before: its own and its user budgets only', async () => {
    await putOrgBudget(gw, admin, null);
    try {
      const { user, token } = await gw.user('developer', undefined, 'pro');
      const { key } = await createGatewayKey(gw, token, { monthlyCredits: 1 });
      const a = await gw.deps.limits.admit(await principal(key), cost(1000));
      expect(a.budgets.map((b) => [b.scope, b.id])).toEqual([['key', a.keyId], ['user', user.id]]);
      expect(a.budgets.every((b) => b.period === '2030-04')).toBe(true);
    } finally {
      await putOrgBudget(gw, admin, 1_000_000);
    }
  });

  describe('the budget API', () => {
    let t: Awaited<ReturnType<typeof teamWithKey>>;
    let lead: { id: string; token: string };
    let otherLead: { id: string; token: string };
    beforeAll(async () => {
      t = await teamWithKey(gw, admin, { budget: 10 });
      const l = await gw.user('developer');
      lead = { id: l.user.id, token: l.token };
      const o = await gw.user('developer');
      otherLead = { id: o.user.id, token: o.token };
      expect((await gw.request(`/teams/${t.teamId}/members`, { token: admin, body: { userId: lead.id, role: 'team_admin' } })).status).toBe(201);
      const other = await teamWithKey(gw, admin, { budget: 5 });
      expect((await gw.request(`/teams/${other.teamId}/members`, { token: admin, body: { userId: otherLead.id, role: 'team_admin' } })).status).toBe(201);
    });
    const put = (token: string | undefined, body: unknown, teamId = t.teamId) => gw.request(`/teams/${teamId}/budget`, { method: 'PUT', token, body });
    const teamRow = () => gw.deps.db('teams').where({ id: t.teamId }).first();

    it("refuses a team admin's attempt to raise their team's budget or change its period (403), and changes nothing", async () => {
      for (const body of [{ budget: 11 }, { budget: null }, { period: 'daily' }]) {
        const res = await put(lead.token, body);
        expect(res.status).toBe(403);
        expect(res.body.error.code).toBe('forbidden');
      }
      expect(Number((await teamRow()).monthly_budget_micros)).toBe(10_000_000);
      expect((await teamRow()).budget_period).toBe('monthly');
    });

    it("refuses a split beyond the team's budget with 422 budget_exceeds_team, for one share or for the shares together", async () => {
      const one = await put(lead.token, { members: [{ userId: t.userId, budget: 10.01 }] });
      expect(one.status).toBe(422);
      expect(one.body.error).toMatchObject({ code: 'budget_exceeds_team', message: expect.stringContaining("may not exceed the team's budget") });
      const together = await put(lead.token, { members: [{ userId: t.userId, budget: 6 }, { userId: lead.id, budget: 6 }] });
      expect(together.status).toBe(422);
      expect(together.body.error.code).toBe('budget_exceeds_team');
      // lowering the team budget below the shares already set is refused the same way
      expect((await put(lead.token, { keys: [{ keyId: t.keyId, budget: 8 }] })).status).toBe(200);
      expect((await put(admin, { budget: 7 })).body.error?.code).toBe('budget_exceeds_team');
      const row = await gw.deps.db('team_members').where({ team_id: t.teamId, user_id: t.userId }).first();
      expect(row.budget_micros).toBeNull();
    });

    it('lets a team admin split and lower the budget, an admin raise it; each change audited with the acting user', async () => {
      const split = await put(lead.token, { budget: 9, members: [{ userId: t.userId, budget: 4 }, { userId: lead.id, budget: 5 }], keys: [{ keyId: t.keyId, budget: 3 }] });
      expect(split.status).toBe(200);
      expect(split.body).toMatchObject({ budget: 9, period: 'monthly' });
      expect(split.body.members).toEqual(expect.arrayContaining([expect.objectContaining({ userId: t.userId, budget: 4, spent: 0 })]));
      expect(split.body.keys).toEqual([expect.objectContaining({ keyId: t.keyId, budget: 3 })]);
      const raised = await put(admin, { budget: 50, period: 'weekly' });
      expect(raised.status).toBe(200);
      expect(raised.body).toMatchObject({ budget: 50, period: 'weekly', periodLabel: expect.stringMatching(/^\d{4}-W\d{2}$/) });
      // the key's principal (on this node and, through the announcement, every other) carries the new budgets
      const p = await principal(t.key);
      expect(p.team).toMatchObject({ budgetMicros: 50_000_000, budgetPeriod: 'weekly', memberBudgetMicros: 4_000_000, keyBudgetMicros: 3_000_000 });
      const audits = await gw.deps.db('audit_log').where({ action: 'team.budget_update', target_id: t.teamId }).orderBy('id');
      expect(audits.slice(-2).map((r: { actor_id: string }) => r.actor_id)).toEqual([lead.id, adminId]);
      const last = audits[audits.length - 1];
      expect(last.before).toMatchObject({ budget: 9, period: 'monthly' });
      expect(last.after).toMatchObject({ budget: 50, period: 'weekly', members: expect.arrayContaining([{ userId: t.userId, budget: 4 }]) });
    });

    it('refuses the unauthenticated, a plain member, another team’s admin, and hostile input, changing nothing', async () => {
      const before = await teamRow();
      expect((await put(undefined, { budget: 1 })).status).toBe(401);
      expect((await gw.request(`/teams/${t.teamId}/budget`)).status).toBe(401);
      expect((await put(t.token, { members: [{ userId: t.userId, budget: 0 }] })).status).toBe(403); // a member
      expect((await gw.request(`/teams/${t.teamId}/budget`, { token: t.token })).status).toBe(403);
      expect((await put(otherLead.token, { budget: 1 })).status).toBe(403); // someone else's team
      expect((await gw.request(`/teams/${t.teamId}/budget`, { token: otherLead.token })).status).toBe(403);
      for (const body of [
        { budget: -1 },
        { budget: '5' },
        { budget: 1e12 },
        { period: 'fortnightly' },
        { members: [{ userId: 'not-a-uuid', budget: 1 }] },
        { members: [{ userId: t.userId, budget: 1 }, { userId: t.userId, budget: 2 }] },
        { keys: [{ keyId: t.keyId }] },
        { budget: 1, extra: true },
        {},
      ]) {
        const res = await put(admin, body);
        expect([res.status, res.body.error?.code]).toEqual([400, 'invalid_request']);
      }
      // a share for someone outside the team, or a key of another team
      expect((await put(admin, { members: [{ userId: otherLead.id, budget: 1 }] })).status).toBe(400);
      expect((await put(admin, { keys: [{ keyId: '00000000-0000-4000-8000-000000000000', budget: 1 }] })).status).toBe(400);
      expect((await put(admin, { budget: 1 }, 'not-a-uuid')).status).toBe(400);
      expect((await put(admin, { budget: 1 }, '00000000-0000-4000-8000-000000000000')).status).toBe(404);
      expect(await teamRow()).toEqual(before);
    });

    it('lets only an admin read and set the organisation budget, audited', async () => {
      expect((await gw.request('/org/budget')).status).toBe(401);
      expect((await gw.request('/org/budget', { token: lead.token })).status).toBe(403);
      expect((await gw.request('/org/budget', { method: 'PUT', token: lead.token, body: { budget: 1e6 } })).status).toBe(403);
      const analyst = (await gw.user('analyst')).token;
      expect((await gw.request('/org/budget', { method: 'PUT', token: analyst, body: { budget: 1e6 } })).status).toBe(403);
      for (const body of [{ budget: -5 }, { budget: 1, period: 'yearly' }, { period: 'daily' }, { budget: 1, x: 1 }]) {
        expect((await gw.request('/org/budget', { method: 'PUT', token: admin, body })).status).toBe(400);
      }
      const set = await gw.request('/org/budget', { method: 'PUT', token: admin, body: { budget: 2_000_000, period: 'rolling_30d' } });
      expect(set.status).toBe(200);
      expect(set.body).toMatchObject({ budget: 2_000_000, period: 'rolling_30d', periodLabel: expect.stringMatching(/^rolling_30d:/) });
      const audit = await gw.deps.db('audit_log').where({ action: 'org.budget_update' }).orderBy('id', 'desc').first();
      expect(audit).toMatchObject({ actor_id: adminId, after: { budget: 2_000_000, period: 'rolling_30d' } });
      await putOrgBudget(gw, admin, 1_000_000);
    });
  });

  describe('moving a key between teams', () => {
    it('applies the new team’s budget on the next request; team admins move only their members’ keys, owners cannot leave', async () => {
      const from = await teamWithKey(gw, admin, { budget: 1 });
      const to = await teamWithKey(gw, admin, { budget: 0.001 }); // room for one call of 1000
      const lead = await gw.user('developer');
      for (const team of [from.teamId, to.teamId]) {
        expect((await gw.request(`/teams/${team}/members`, { token: admin, body: { userId: lead.user.id, role: 'team_admin' } })).status).toBe(201);
      }
      const patch = (token: string, teamId: string | null, extra = {}) =>
        gw.request(`/api-keys/${from.keyId}`, { method: 'PATCH', token, body: { teamId, ...extra } });
      await principal(from.key); // cached on this node
      // the owner must be a member of the team it joins
      expect((await patch(lead.token, to.teamId)).status).toBe(400);
      expect((await gw.request(`/teams/${to.teamId}/members`, { token: admin, body: { userId: from.userId, role: 'member' } })).status).toBe(201);
      // the owner, not a team admin, may not take the key out of its team
      expect((await patch(from.token, null)).status).toBe(403);
      // an admin of another team only does not see the key
      const stranger = await teamWithKey(gw, admin, {});
      const strangerLead = await gw.user('developer');
      await gw.request(`/teams/${stranger.teamId}/members`, { token: admin, body: { userId: strangerLead.user.id, role: 'team_admin' } });
      expect((await patch(strangerLead.token, stranger.teamId)).status).toBe(404);
      // a team admin may move it, but not change the key itself
      expect((await patch(lead.token, to.teamId, { name: 'mine now' })).status).toBe(403);
      const moved = await patch(lead.token, to.teamId);
      expect(moved.status).toBe(200);
      expect(moved.body.teamId).toBe(to.teamId);
      const p = await principal(from.key);
      expect(p.team?.id).toBe(to.teamId);
      await gw.deps.limits.admit(p, cost(1000));
      expect((await refusedScopes(from.key)).scope).toBe('team');
      const audit = await gw.deps.db('audit_log').where({ action: 'api_key.update', target_id: from.keyId }).orderBy('id', 'desc').first();
      expect(audit).toMatchObject({ actor_id: lead.user.id, before: { teamId: from.teamId }, after: { teamId: to.teamId } });
      // an admin takes it out of every team
      expect((await patch(admin, null)).body.teamId).toBeNull();
      expect((await principal(from.key)).team).toBeNull();
    });
  });
});
