import { startTestGateway, TestGateway } from '../helpers/gateway';
import { TEST_BACKEND } from '../helpers/backend';

describe(`/plans (${TEST_BACKEND})`, () => {
  let gw: TestGateway;
  let admin: { token: string; id: string };
  let developer: string;
  let analyst: string;
  beforeAll(async () => {
    gw = await startTestGateway();
    const a = await gw.user('admin');
    admin = { token: a.token, id: a.user.id };
    developer = (await gw.user('developer')).token;
    analyst = (await gw.user('analyst')).token;
  });
  afterAll(() => gw.close());

  const auditRows = (planId: string) => gw.deps.db('audit_log').where({ target_type: 'plan', target_id: planId }).orderBy('id');

  it('lists the seeded plans to every role, in USD', async () => {
    for (const token of [admin.token, developer, analyst]) {
      const res = await gw.request('/plans', { token });
      expect(res.status).toBe(200);
      const byId = Object.fromEntries(res.body.data.map((p: { id: string }) => [p.id, p]));
      expect(byId.free).toMatchObject({ rpm: 20, tpm: 40_000, monthlyCredits: 5, services: null, builtin: true });
      expect(byId.pro.monthlyCredits).toBe(100);
      expect(byId.enterprise.monthlyCredits).toBe(2000);
    }
    expect((await gw.request('/plans')).status).toBe(401);
    expect((await gw.request('/plans/pro', { token: developer })).body).toMatchObject({ id: 'pro', rpm: 600 });
    expect((await gw.request('/plans/nope', { token: developer })).status).toBe(404);
  });

  it('lets an admin create a plan, audited in the same transaction', async () => {
    const body = { id: 'team', name: 'Team', rpm: 100, rph: 2000, rpd: null, tpm: 200_000, monthlyCredits: 25.5, services: ['openai', 'stripe'] };
    const res = await gw.request('/plans', { token: admin.token, body });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ ...body, builtin: false });
    const row = await gw.deps.db('plans').where({ id: 'team' }).first();
    expect(row.monthly_credits_micros).toBe(25_500_000);
    expect(row.services).toEqual(['openai', 'stripe']);
    const [audit] = await auditRows('team');
    expect(audit).toMatchObject({ action: 'plan.create', actor_id: admin.id });
    expect(audit.after).toMatchObject({ id: 'team', monthlyCredits: 25.5 });
    expect((await gw.request('/plans', { token: admin.token, body })).status).toBe(409);
  });

  it('refuses invalid plans with 400 naming the field', async () => {
    const bad = [
      { id: 'Bad Id', name: 'x' },
      { id: 'ok1', name: 'x', rpm: 0 },
      { id: 'ok2', name: 'x', rpm: 1.5 },
      { id: 'ok3', name: 'x', monthlyCredits: -1 },
      { id: 'ok4', name: 'x', unknown: 1 },
      { id: 'ok5', name: '' },
    ];
    for (const body of bad) {
      const res = await gw.request('/plans', { token: admin.token, body });
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('invalid_request');
    }
    const unknownService = await gw.request('/plans', { token: admin.token, body: { id: 'ok6', name: 'x', services: ['nosuch'] } });
    expect(unknownService.status).toBe(400);
    expect(unknownService.body.error.message).toContain('nosuch');
    expect(await gw.deps.db('plans').whereIn('id', ['ok1', 'ok2', 'ok3', 'ok4', 'ok5', 'ok6'])).toEqual([]);
  });

  it('lets only admins change plans; null lifts a limit; before and after are audited', async () => {
    expect((await gw.request('/plans/free', { method: 'PATCH', token: developer, body: { rpm: 1 } })).status).toBe(403);
    expect((await gw.request('/plans', { token: analyst, body: { id: 'x', name: 'x' } })).status).toBe(403);
    const res = await gw.request('/plans/free', { method: 'PATCH', token: admin.token, body: { rpm: 30, monthlyCredits: null } });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ id: 'free', rpm: 30, rph: 300, monthlyCredits: null, builtin: true });
    const audits = await auditRows('free');
    expect(audits.at(-1)).toMatchObject({ action: 'plan.update', actor_id: admin.id });
    expect(audits.at(-1).before).toMatchObject({ rpm: 20, monthlyCredits: 5 });
    expect(audits.at(-1).after).toMatchObject({ rpm: 30, monthlyCredits: null });
    expect((await gw.request('/plans/nope', { method: 'PATCH', token: admin.token, body: { rpm: 1 } })).status).toBe(404);
    expect((await gw.request('/plans/free', { method: 'PATCH', token: admin.token, body: {} })).status).toBe(400);
  });

  it('announces a change on plans:changed so every node reloads', async () => {
    const seen: string[] = [];
    await gw.deps.kv.subscribe('plans:changed', (m) => seen.push(m));
    await new Promise((r) => setTimeout(r, 100)); // the subscription is asynchronous on Redis
    await gw.request('/plans/pro', { method: 'PATCH', token: admin.token, body: { tpm: 123_456 } });
    const deadline = Date.now() + 1000;
    while (!seen.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(seen.map((m) => JSON.parse(m))).toEqual([{ ids: ['pro'] }]);
    expect((await gw.deps.limits.allowances.planById('pro'))?.tpm).toBe(123_456);
  });
});
