import { startTestGateway, TestGateway } from '../helpers/gateway';
import { createSharedBackend, SharedBackend } from '../helpers/backend';
import { eventually, movableClock, tally } from '../helpers/limits';
import { putOrgBudget, putTeamBudget, teamWithKey } from '../helpers/budgets';

/**
 * Issue 17's done-criteria across two gateway nodes (each its own pools, caches, subscriptions and Redis
 * connections) sharing one PostgreSQL and one Redis: 300 concurrent calls split over both nodes against a budget
 * that fits 40 admit exactly 40 — at the team, member-in-team and organisation level, the other levels roomy — a
 * period reset admits again exactly once, and budget and team changes made on one node apply to the other's next call.
 */
describe('budgets across two gateway nodes (postgres + redis)', () => {
  const clock = movableClock('2030-06-10T12:00:00.000Z');
  let backend: SharedBackend;
  let a: TestGateway;
  let b: TestGateway;
  let admin: string;
  beforeAll(async () => {
    backend = await createSharedBackend();
    a = await startTestGateway({ backend, clock, env: { BUDGET_TIME_ZONE: 'Europe/Berlin' } });
    b = await startTestGateway({ backend, clock, env: { BUDGET_TIME_ZONE: 'Europe/Berlin' } });
    admin = (await a.user('admin')).token;
    await putOrgBudget(a, admin, 1_000_000);
  });
  afterAll(async () => {
    await b?.close();
    await a?.close();
    await backend?.drop();
  });

  const cost = { estimatedTokens: 0, estimatedCostMicros: 1000 };
  /** 300 calls at once, alternating between the nodes, each node with its own verified principal of `keys` */
  async function burst(keys: string[], n = 300) {
    const pa = await Promise.all(keys.map(async (k) => (await a.deps.keys.verify(k)).principal));
    const pb = await Promise.all(keys.map(async (k) => (await b.deps.keys.verify(k)).principal));
    return tally(Array.from({ length: n }, (_, i) => (i % 2 ? a : b).deps.limits.admit((i % 2 ? pa : pb)[i % keys.length], cost)));
  }
  const scopeOfRefusal = async (node: TestGateway, key: string) =>
    (await node.deps.limits.admit((await node.deps.keys.verify(key)).principal, cost).catch((e) => e)).details?.scope;

  it('team budget: exactly 40 of 300', async () => {
    const t = await teamWithKey(a, admin, { budget: 0.04 });
    const { ok, refused } = await burst([t.key]);
    expect(ok.length).toBe(40);
    expect(refused).toEqual({ insufficient_credits: 260 });
    expect(await scopeOfRefusal(b, t.key)).toBe('team');
    expect((await b.request(`/teams/${t.teamId}/budget`, { token: admin })).body).toMatchObject({ spent: 0.04, remaining: 0 });
  });

  it('member budget inside a roomy team: exactly 40 of 300', async () => {
    const t = await teamWithKey(a, admin, { budget: 1, member: 0.04 });
    const { ok } = await burst([t.key]);
    expect(ok.length).toBe(40);
    expect(await scopeOfRefusal(a, t.key)).toBe('member');
  });

  it('organisation budget above roomy teams: exactly 40 of 300, then exactly 40 again once its day is over, once', async () => {
    clock.set('2030-06-11T21:30:00.000Z'); // 23:30 in Berlin
    const [t1, t2] = [await teamWithKey(a, admin, { budget: 1 }), await teamWithKey(b, admin, { budget: 1 })];
    await putOrgBudget(b, admin, 0.04, 'daily');
    try {
      // node a learns of the change through the announcement
      await eventually(async () => a.deps.limits.orgBudget.now()?.budgetMicros === 40_000, 2000);
      const first = await burst([t1.key, t2.key]);
      expect(first.ok.length).toBe(40);
      expect(first.refused).toEqual({ insufficient_credits: 260 });
      expect(await scopeOfRefusal(a, t1.key)).toBe('org');
      clock.set('2030-06-11T22:00:00.000Z'); // midnight in Berlin: both nodes move to 12 June at once
      const second = await burst([t1.key, t2.key]);
      expect(second.ok.length).toBe(40);
      clock.set('2030-06-12T21:59:00.000Z');
      expect((await burst([t1.key, t2.key], 20)).ok.length).toBe(0);
    } finally {
      await putOrgBudget(a, admin, 1_000_000);
    }
  });

  it('a team budget period reset (weekly, Monday in Berlin) admits again exactly once', async () => {
    clock.set('2030-06-16T21:00:00.000Z'); // Sunday 23:00 in Berlin
    const t = await teamWithKey(a, admin, { budget: 0.04, period: 'weekly' });
    expect((await burst([t.key])).ok.length).toBe(40);
    clock.set('2030-06-16T22:00:00.000Z'); // Monday 00:00
    expect((await burst([t.key])).ok.length).toBe(40);
    clock.set('2030-06-23T21:59:59.000Z'); // the whole week: no second reset
    expect((await burst([t.key], 20)).ok.length).toBe(0);
  });

  it('a budget change and a key moved between teams on one node apply to the next call on the other', async () => {
    clock.set('2030-07-01T10:00:00.000Z');
    const from = await teamWithKey(a, admin, { budget: 1 });
    const to = await teamWithKey(a, admin, { budget: 0.002 });
    await b.deps.keys.verify(from.key); // node b has the key cached, in its old team
    expect((await a.request(`/teams/${to.teamId}/members`, { token: admin, body: { userId: from.userId } })).status).toBe(201);
    expect((await a.request(`/api-keys/${from.keyId}`, { method: 'PATCH', token: admin, body: { teamId: to.teamId } })).status).toBe(200);
    await eventually(async () => (await b.deps.keys.verify(from.key)).principal.team?.id === to.teamId, 1000);
    expect((await burst([from.key], 10)).ok.length).toBe(2);
    await putTeamBudget(a, admin, to.teamId, { budget: 0.003 });
    await eventually(async () => (await b.deps.keys.verify(from.key)).principal.team?.budgetMicros === 3000, 1000);
    expect((await burst([from.key], 10)).ok.length).toBe(1);
  });
});
