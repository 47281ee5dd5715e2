import { TEST_BACKEND } from '../helpers/backend';
import { startLlmEnv, type LlmTestEnv } from '../helpers/llm';
import { createGatewayKey } from '../helpers/keys';

/**
 * Issue 14.4: what an admin sets on a key is locked for its owner (narrowing only), and a key never exceeds its
 * owner's plan — neither through its own limits at request time nor when a non-admin creates or changes it.
 */
describe(`admin-set key restrictions and plan ceilings (${TEST_BACKEND})`, () => {
  let env: LlmTestEnv;
  let admin: string;
  let planSeq = 0;

  /** A developer on a fresh plan with these limits. */
  async function developerOn(plan: Record<string, unknown>) {
    const id = `lockplan-${Date.now().toString(36)}-${++planSeq}`;
    const created = await env.gw.request('/plans', { token: admin, body: { id, name: id, ...plan } });
    if (created.status !== 201) throw new Error(`POST /plans answered ${created.status}: ${created.text}`);
    const { user, token } = await env.gw.user('developer', undefined, id);
    return { user, token, planId: id };
  }
  const patch = (token: string, id: string, body: unknown) => env.gw.request(`/api-keys/${id}`, { method: 'PATCH', token, body });
  const show = async (id: string) => (await env.gw.request(`/api-keys/${id}`, { token: admin })).body;

  beforeAll(async () => {
    env = await startLlmEnv();
    admin = env.adminToken;
  }, 60_000);
  afterAll(() => env.close());

  const expiry = new Date(Date.now() + 30 * 86_400_000).toISOString();
  const adminSet = {
    scopes: ['chat', 'proxy'],
    services: ['openai', 'stripe'],
    models: ['gpt-4o*'],
    allowedIps: ['10.0.0.0/8'],
    allowedReferrers: ['*.example.com'],
    expiresAt: expiry,
    limits: { rpm: 10, tpm: 5000 },
    monthlyCredits: 5,
  };

  it('14.4 regression: a developer cannot lift or widen what an admin set on their key; nothing changes', async () => {
    const dev = await developerOn({ rpm: 100, tpm: 100_000, monthlyCredits: 50 });
    const res = await env.gw.request('/api-keys', { token: admin, body: { name: 'locked', userId: dev.user.id, ...adminSet } });
    expect(res.status).toBe(201);
    const id = res.body.id;
    const before = await show(id);

    const lifts: [string, unknown][] = [
      ['allowedIps', null], ['allowedIps', ['0.0.0.0/0']], ['allowedIps', ['10.0.0.0/7']], ['allowedIps', []],
      ['services', null], ['services', ['openai', 'anthropic']],
      ['models', null], ['models', ['gpt-*']], ['models', ['gpt-5']],
      ['scopes', ['chat', 'proxy', 'embeddings']],
      ['allowedReferrers', null], ['allowedReferrers', ['*']], ['allowedReferrers', ['example.com']],
      ['expiresAt', null], ['expiresAt', new Date(Date.now() + 60 * 86_400_000).toISOString()],
      ['limits', null], ['limits', { rpm: 11, tpm: 5000 }], ['limits', { rpm: 5 }], ['limits', { rpm: 5, tpm: null }],
      ['monthlyCredits', null], ['monthlyCredits', 6],
    ];
    for (const [field, value] of lifts) {
      const r = await patch(dev.token, id, { [field]: value });
      expect([field, value, r.status]).toEqual([field, value, 403]);
      expect(r.body.error.code).toBe('forbidden');
      expect(r.body.error.message).toMatch(/administrator|plan/);
    }
    const after = await show(id);
    expect({ ...after, updatedAt: null }).toEqual({ ...before, updatedAt: null });
    expect(await env.gw.deps.db('audit_log').where({ action: 'api_key.update', target_id: id })).toHaveLength(0);
    expect(after.lockedByAdmin).toMatchObject({ allowedIps: ['10.0.0.0/8'], limits: { rpm: 10, tpm: 5000 }, monthlyCredits: 5 });
  });

  it('the owner may narrow, and widen again up to what the admin set; an admin may lift a lock', async () => {
    const dev = await developerOn({ rpm: 100, tpm: 100_000, monthlyCredits: 50 });
    const { id } = (await env.gw.request('/api-keys', { token: admin, body: { name: 'locked', userId: dev.user.id, ...adminSet } })).body;
    const narrower = {
      scopes: ['chat'],
      services: ['openai'],
      models: ['gpt-4o-mini', 'openai/gpt-4o'],
      allowedIps: ['10.1.0.0/16', '10.2.3.4'],
      allowedReferrers: ['https://app.example.com', '*.eu.example.com'],
      expiresAt: new Date(Date.now() + 10 * 86_400_000).toISOString(),
      limits: { rpm: 5, tpm: 1000, rpd: 100 },
      monthlyCredits: 2,
    };
    const narrowed = await patch(dev.token, id, narrower);
    expect(narrowed.status).toBe(200);
    expect(narrowed.body).toMatchObject({ ...narrower, expiresAt: expect.any(String) });
    const back = await patch(dev.token, id, { limits: { rpm: 10, tpm: 5000 }, monthlyCredits: 5, allowedIps: ['10.0.0.0/8'], expiresAt: expiry });
    expect(back.status).toBe(200);
    expect((await patch(dev.token, id, { limits: { rpm: 11, tpm: 5000 } })).status).toBe(403);

    // an admin lifts the IP lock: the owner is free there now (other locks stay)
    const lifted = await patch(admin, id, { allowedIps: null });
    expect(lifted.status).toBe(200);
    expect(lifted.body.lockedByAdmin.allowedIps).toBeUndefined();
    expect(lifted.body.lockedByAdmin.limits).toEqual({ rpm: 10, tpm: 5000 });
    expect((await patch(dev.token, id, { allowedIps: ['192.168.0.0/16'] })).status).toBe(200);
    expect((await patch(dev.token, id, { allowedIps: null })).status).toBe(200);
    expect((await patch(dev.token, id, { limits: null })).status).toBe(403);

    // a rotated key keeps the locks
    const rotated = await env.gw.request(`/api-keys/${id}/rotate`, { method: 'POST', token: dev.token, body: {} });
    expect(rotated.status).toBe(201);
    expect(rotated.body.lockedByAdmin.limits).toEqual({ rpm: 10, tpm: 5000 });
    expect((await patch(dev.token, rotated.body.id, { monthlyCredits: null })).status).toBe(403);
  });

  it("a developer's own key stays inside their plan, on create and on change; an admin's is capped at request time", async () => {
    const dev = await developerOn({ rpm: 20, rph: 300, tpm: 200, monthlyCredits: 5, services: ['openai'] });
    for (const body of [{ limits: { rpm: 21 } }, { limits: { tpm: 201 } }, { monthlyCredits: 5.01 }, { services: ['openai', 'stripe'] }]) {
      const r = await env.gw.request('/api-keys', { token: dev.token, body: { name: 'mine', scopes: ['chat'], ...body } });
      expect([body, r.status, r.body.error?.code]).toEqual([body, 403, 'forbidden']);
      expect(r.body.error.message).toContain(dev.planId);
    }
    expect(await env.gw.deps.db('gateway_keys').where({ user_id: dev.user.id })).toHaveLength(0);
    const own = await createGatewayKey(env.gw, dev.token, { scopes: ['chat'], limits: { rpm: 20, tpm: 200 }, monthlyCredits: 5 });
    expect((await patch(dev.token, own.id, { limits: { tpm: 1_000_000 } })).status).toBe(403);
    expect((await patch(dev.token, own.id, { limits: { tpm: 150 } })).status).toBe(200);

    // an admin may give a key any numbers, but the plan's tokens per minute still bound it
    const generous = (await env.gw.request('/api-keys', { token: admin, body: { name: 'generous', userId: dev.user.id, scopes: ['chat'], limits: { tpm: 1_000_000 } } })).body;
    const res = await env.gw.request('/v1/chat/completions', {
      headers: { authorization: `Bearer ${generous.key}` },
      body: { model: 'openai/gpt-4o', messages: [{ role: 'user', content: 'hi' }], max_tokens: 500 },
    });
    expect(res.status).toBe(429);
    expect(res.body.error.message).toMatch(/over the limit of 200 tokens per minute/);
  });

  it('security: no credential 401, another developer 404, hostile bodies 400; nothing changes', async () => {
    const dev = await developerOn({ rpm: 100 });
    const other = await developerOn({ rpm: 100 });
    const { id } = (await env.gw.request('/api-keys', { token: admin, body: { name: 'locked', userId: dev.user.id, ...adminSet } })).body;
    const before = await show(id);
    expect((await env.gw.request(`/api-keys/${id}`, { method: 'PATCH', body: { allowedIps: null } })).status).toBe(401);
    expect((await patch(other.token, id, { allowedIps: null })).status).toBe(404);
    for (const body of [{ limits: { rpm: -1 } }, { limits: { rpm: 'many' } }, { allowedIps: ['not-an-ip'] }, { lockedByAdmin: null }, { admin_restrictions: null }, { monthlyCredits: -5 }]) {
      const r = await patch(dev.token, id, body);
      expect([body, r.status]).toEqual([body, 400]);
    }
    expect({ ...(await show(id)), updatedAt: null }).toEqual({ ...before, updatedAt: null });
  });
});
