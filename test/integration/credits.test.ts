import { startTestGateway, TestGateway } from '../helpers/gateway';
import { TEST_BACKEND } from '../helpers/backend';
import { makePlan, movableClock, principalFor } from '../helpers/limits';

describe(`/users/:id/credits (${TEST_BACKEND})`, () => {
  const clock = movableClock('2030-03-10T08:00:30.000Z');
  let gw: TestGateway;
  let admin: { token: string; id: string };
  beforeAll(async () => {
    gw = await startTestGateway({ clock });
    const a = await gw.user('admin');
    admin = { token: a.token, id: a.user.id };
  });
  afterAll(() => gw.close());

  const grant = (userId: string, body: unknown, token = admin.token) => gw.request(`/users/${userId}/credits`, { token, body });
  const balance = (userId: string, token = admin.token, query = '') => gw.request(`/users/${userId}/credits${query}`, { token });

  it('shows a balance to its owner and to admins only', async () => {
    const dev = await gw.user('developer');
    const other = await gw.user('developer');
    const analyst = await gw.user('analyst');
    const own = await balance(dev.user.id, dev.token);
    expect(own.status).toBe(200);
    expect(own.body).toMatchObject({
      userId: dev.user.id,
      period: '2030-03',
      plan: 'free',
      planAllowance: 5,
      topUps: 0,
      allowance: 5,
      spent: 0,
      reserved: 0,
      remaining: 5,
      grants: [],
    });
    expect((await balance(dev.user.id)).status).toBe(200);
    expect((await balance(dev.user.id, other.token)).status).toBe(403);
    expect((await balance(dev.user.id, analyst.token)).status).toBe(403);
    expect((await gw.request(`/users/${dev.user.id}/credits`)).status).toBe(401);
    expect((await balance('00000000-0000-4000-8000-000000000000')).status).toBe(404);
    expect((await balance('not-a-uuid')).status).toBe(400);
    expect((await balance(dev.user.id, admin.token, '?period=2030-13')).status).toBe(400);
  });

  it('lets an admin top up, audited, and the next admit can spend it', async () => {
    const planId = await makePlan(gw, { monthlyCreditsMicros: 1000 });
    const p = await principalFor(gw, planId);
    await gw.deps.limits.admit(p, { estimatedTokens: 0, estimatedCostMicros: 1000 });
    await expect(gw.deps.limits.admit(p, { estimatedTokens: 0, estimatedCostMicros: 500 })).rejects.toMatchObject({ code: 'insufficient_credits' });

    const res = await grant(p.userId, { amount: 2.5, reason: 'conference demo' });
    expect(res.status).toBe(201);
    expect(res.body.grant).toMatchObject({ amount: 2.5, reason: 'conference demo', period: '2030-03', actorId: admin.id });
    expect(res.body.balance).toMatchObject({ planAllowance: 0.001, topUps: 2.5, allowance: 2.501, reserved: 0.001, remaining: 2.5 });
    await gw.deps.limits.admit(p, { estimatedTokens: 0, estimatedCostMicros: 500 });

    const row = await gw.deps.db('credit_grants').where({ user_id: p.userId }).first();
    expect(row).toMatchObject({ amount_micros: 2_500_000, period: '2030-03', reason: 'conference demo', actor_id: admin.id });
    const audit = await gw.deps.db('audit_log').where({ action: 'credits.grant', target_id: p.userId }).first();
    expect(audit).toMatchObject({ target_type: 'user', actor_id: admin.id });
    expect(audit.after).toMatchObject({ period: '2030-03', topUps: 2.5 });
  });

  it('refuses top-ups from non-admins and invalid amounts', async () => {
    const dev = await gw.user('developer');
    expect((await grant(dev.user.id, { amount: 5, reason: 'me' }, dev.token)).status).toBe(403);
    for (const body of [{ amount: 0, reason: 'x' }, { amount: 1 }, { amount: 1.0000001, reason: 'x' }, { amount: 1, reason: 'x', extra: 1 }, { amount: '1', reason: 'x' }]) {
      const res = await grant(dev.user.id, body);
      expect(res.status).toBe(400);
    }
    expect((await grant('00000000-0000-4000-8000-000000000000', { amount: 1, reason: 'x' })).status).toBe(404);
    expect(await gw.deps.db('credit_grants').where({ user_id: dev.user.id })).toEqual([]);
  });

  it('lets a correction take back top-ups, never below zero or below what is spent', async () => {
    const p = await principalFor(gw, await makePlan(gw, { monthlyCreditsMicros: 1_000_000 }));
    expect((await grant(p.userId, { amount: 2, reason: 'top-up' })).status).toBe(201);
    const tooMuch = await grant(p.userId, { amount: -2.5, reason: 'oops' });
    expect(tooMuch.status).toBe(409);
    expect(tooMuch.body.error.details).toMatchObject({ maxCorrection: 2 });

    await gw.deps.limits.admit(p, { estimatedTokens: 0, estimatedCostMicros: 2_500_000 }); // 2.5 of 3 reserved
    const belowSpent = await grant(p.userId, { amount: -1, reason: 'oops' });
    expect(belowSpent.status).toBe(409);
    expect(belowSpent.body.error.details.maxCorrection).toBe(0.5);
    const ok = await grant(p.userId, { amount: -0.5, reason: 'oops' });
    expect(ok.status).toBe(201);
    expect(ok.body.balance).toMatchObject({ topUps: 1.5, allowance: 2.5, remaining: 0 });
  });

  it('reports recorded spending and a past period with its own grants', async () => {
    const p = await principalFor(gw, await makePlan(gw, { monthlyCreditsMicros: 10_000_000 }));
    await gw.deps.db('usage_daily').insert({ day: '2030-03-02', user_id: p.userId, service: 'openai', model: 'm', cost_micros: 1_250_000 });
    await gw.deps.db('usage_daily').insert({ day: '2030-02-20', user_id: p.userId, service: 'openai', model: 'm', cost_micros: 400_000 });
    clock.set('2030-02-27T10:00:00.000Z');
    expect((await grant(p.userId, { amount: 1, reason: 'february' })).status).toBe(201);
    clock.set('2030-03-10T08:00:30.000Z');
    const now = await balance(p.userId);
    expect(now.body).toMatchObject({ period: '2030-03', spent: 1.25, topUps: 0, remaining: 8.75, grants: [] });
    const feb = await balance(p.userId, admin.token, '?period=2030-02');
    expect(feb.body).toMatchObject({ period: '2030-02', spent: 0.4, topUps: 1, allowance: 11, remaining: 10.6 });
    expect(feb.body.grants).toHaveLength(1);
  });

  it('shows null allowance and remaining for an unlimited plan', async () => {
    const p = await principalFor(gw, await makePlan(gw, {}));
    const res = await balance(p.userId);
    expect(res.body).toMatchObject({ planAllowance: null, allowance: null, remaining: null });
  });
});
