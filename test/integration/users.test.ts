import { startTestGateway, TestGateway } from '../helpers/gateway';
import { TEST_BACKEND } from '../helpers/backend';
import { createUserWithKey } from '../helpers/keys';

describe(`/users (${TEST_BACKEND})`, () => {
  let gw: TestGateway;
  let admin: Awaited<ReturnType<TestGateway['user']>>;

  beforeAll(async () => {
    gw = await startTestGateway();
    admin = await gw.user('admin');
  });
  afterAll(() => gw.close());

  it('creates users (admin only), refusing duplicates and unknown plans', async () => {
    const res = await gw.request('/users', {
      token: admin.token,
      body: { email: 'Alice@Example.test', password: 'a long enough password', role: 'analyst', plan: 'pro' },
    });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ email: 'alice@example.test', role: 'analyst', plan: 'pro', disabled: false });
    expect(res.text).not.toContain('scrypt');
    const dup = await gw.request('/users', { token: admin.token, body: { email: 'alice@example.test', password: 'a long enough password' } });
    expect(dup.status).toBe(409);
    const plan = await gw.request('/users', { token: admin.token, body: { email: 'b@example.test', password: 'a long enough password', plan: 'gold' } });
    expect(plan.status).toBe(400);
    const dev = await gw.user('developer');
    expect((await gw.request('/users', { token: dev.token, body: { email: 'c@example.test', password: 'a long enough password' } })).status).toBe(403);
    const audit = await gw.deps.db('audit_log').where({ action: 'user.create', target_id: res.body.id }).first();
    expect(audit.actor_id).toBe(admin.user.id);
    expect(JSON.stringify(audit.after)).not.toContain('scrypt');
  });

  it('lists users with pagination and filters', async () => {
    for (let i = 0; i < 3; i++) await gw.user('analyst', `page-${i}@list.test`);
    const first = await gw.request('/users?limit=2&offset=0', { token: admin.token });
    expect(first.status).toBe(200);
    expect(first.body.data).toHaveLength(2);
    expect(first.body.total).toBeGreaterThanOrEqual(5);
    const second = await gw.request('/users?limit=2&offset=2', { token: admin.token });
    expect(second.body.data.map((u: any) => u.id)).not.toContain(first.body.data[0].id);
    const filtered = await gw.request('/users?q=%40list.test&role=analyst', { token: admin.token });
    expect(filtered.body.data.map((u: any) => u.email).sort()).toEqual(['page-0@list.test', 'page-1@list.test', 'page-2@list.test']);
    expect(filtered.body.data[0]).not.toHaveProperty('password_hash');
    expect((await gw.request('/users?limit=0', { token: admin.token })).status).toBe(400);
  });

  it('gets one user, 404 for unknown ids', async () => {
    expect((await gw.request(`/users/${admin.user.id}`, { token: admin.token })).body.email).toBe(admin.user.email);
    expect((await gw.request('/users/00000000-0000-4000-8000-000000000000', { token: admin.token })).status).toBe(404);
    expect((await gw.request('/users/nope', { token: admin.token })).status).toBe(404);
  });

  it('changes role and plan, audited with before and after, and the key verifier sees the new plan', async () => {
    const { user, key } = await createUserWithKey(gw);
    expect((await gw.deps.keys.verify(key)).principal.plan.id).toBe('free');
    const res = await gw.request(`/users/${user.id}`, { method: 'PATCH', token: admin.token, body: { role: 'analyst', plan: 'enterprise' } });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ role: 'analyst', plan: 'enterprise' });
    expect((await gw.deps.keys.verify(key)).principal.plan).toMatchObject({ id: 'enterprise', rpm: 6000 });
    const audit = await gw.deps.db('audit_log').where({ action: 'user.update', target_id: user.id }).first();
    expect(audit.before).toMatchObject({ role: 'developer', plan: 'free' });
    expect(audit.after).toMatchObject({ role: 'analyst', plan: 'enterprise' });
    expect(audit.request_id).toBe(res.headers.get('x-request-id'));
    expect((await gw.request(`/users/${user.id}`, { method: 'PATCH', token: admin.token, body: { plan: 'nope' } })).status).toBe(400);
    expect((await gw.request(`/users/${user.id}`, { method: 'PATCH', token: admin.token, body: { role: 'root' } })).status).toBe(400);
  });

  it('disabling a user stops their JWT and gateway keys at once; enabling restores them', async () => {
    const { user, token, key } = await createUserWithKey(gw);
    expect((await gw.request('/auth/me', { token })).status).toBe(200);
    await gw.request(`/users/${user.id}`, { method: 'PATCH', token: admin.token, body: { disabled: true } });
    expect((await gw.request('/auth/me', { token })).status).toBe(401);
    await expect(gw.deps.keys.verify(key)).rejects.toMatchObject({ status: 401, code: 'invalid_api_key' });
    await gw.request(`/users/${user.id}`, { method: 'PATCH', token: admin.token, body: { disabled: false } });
    expect((await gw.request('/auth/me', { token })).status).toBe(200);
    await expect(gw.deps.keys.verify(key)).resolves.toBeDefined();
  });

  it('sets a new password, ending the user\'s sessions, without putting it in the audit log', async () => {
    const { user } = await gw.user('developer');
    const before = (await gw.request('/auth/login', { body: { email: user.email, password: 'correct horse battery staple' } })).body.token;
    const res = await gw.request(`/users/${user.id}`, { method: 'PATCH', token: admin.token, body: { password: 'reset by the admin 123' } });
    expect(res.status).toBe(200);
    expect((await gw.request('/auth/me', { token: before })).status).toBe(401); // the reset ends the user's sessions
    expect((await gw.request('/auth/me', { token: admin.token })).status).toBe(200); // and nobody else's
    const login = await gw.request('/auth/login', { body: { email: user.email, password: 'reset by the admin 123' } });
    expect(login.status).toBe(200);
    const audit = await gw.deps.db('audit_log').where({ action: 'user.update', target_id: user.id }).first();
    expect(audit.after.passwordChanged).toBe(true);
    expect(JSON.stringify(audit)).not.toContain('reset by the admin');
  });

  it('does not let an admin disable or demote themselves', async () => {
    for (const body of [{ disabled: true }, { role: 'developer' }]) {
      const res = await gw.request(`/users/${admin.user.id}`, { method: 'PATCH', token: admin.token, body });
      expect(res.status).toBe(409);
    }
    expect((await gw.request('/auth/me', { token: admin.token })).body.role).toBe('admin');
  });
});
