import { startTestGateway, TestGateway } from '../helpers/gateway';
import { TEST_BACKEND } from '../helpers/backend';

const PASSWORD = 'correct horse battery staple';

describe(`/auth (${TEST_BACKEND})`, () => {
  let gw: TestGateway;
  let ipSeq = 0;
  // TRUST_PROXY lets each test come from an address of its own, so the per-IP login limit stays per test.
  const freshIp = () => ({ 'x-forwarded-for': `198.51.100.${++ipSeq}` });

  beforeAll(async () => {
    gw = await startTestGateway({ env: { TRUST_PROXY: 'true' } });
  });
  afterAll(() => gw.close());

  const login = (email: string, password: string, headers = freshIp()) =>
    gw.request('/auth/login', { body: { email, password }, headers });

  it('refuses registration unless ALLOW_REGISTRATION is set', async () => {
    const res = await gw.request('/auth/register', { body: { email: 'new@example.test', password: PASSWORD }, headers: freshIp() });
    expect(res.status).toBe(403);
    expect(res.body.error.code).toBe('forbidden');
  });

  it('registers a developer on the free plan when allowed, once per email', async () => {
    gw.deps.config.allowRegistration = true;
    try {
      const res = await gw.request('/auth/register', { body: { email: 'Self@Example.test', password: PASSWORD }, headers: freshIp() });
      expect(res.status).toBe(201);
      expect(res.body.user).toMatchObject({ email: 'self@example.test', role: 'developer', plan: 'free', disabled: false });
      expect(res.body.user).not.toHaveProperty('password_hash');
      expect((await gw.request('/auth/me', { token: res.body.token })).body.email).toBe('self@example.test');
      const dup = await gw.request('/auth/register', { body: { email: 'self@example.test', password: PASSWORD }, headers: freshIp() });
      expect(dup.status).toBe(409);
      const weak = await gw.request('/auth/register', { body: { email: 'weak@example.test', password: 'short' }, headers: freshIp() });
      expect(weak.status).toBe(400);
      const role = await gw.request('/auth/register', { body: { email: 'r@example.test', password: PASSWORD, role: 'admin' }, headers: freshIp() });
      expect(role.status).toBe(400);
    } finally {
      gw.deps.config.allowRegistration = false;
    }
  });

  it('logs in with a JWT, an expiry and the user, and records the login', async () => {
    const { user } = await gw.user('analyst');
    const res = await login(user.email.toUpperCase(), PASSWORD);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ tokenType: 'Bearer', user: { id: user.id, role: 'analyst' } });
    expect(Date.parse(res.body.expiresAt)).toBeGreaterThan(Date.now() + 3_600_000);
    const [, payload] = res.body.token.split('.');
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString());
    expect(claims).toMatchObject({ sub: user.id, role: 'analyst', iss: 'keywallet' });
    expect(JSON.parse(Buffer.from(res.body.token.split('.')[0], 'base64url').toString()).alg).toBe('HS256');
    const me = await gw.request('/auth/me', { token: res.body.token });
    expect(me.body).toMatchObject({ id: user.id, role: 'analyst' });
    expect(me.body.permissions).toContain('analytics:all');
    expect(me.body.permissions).not.toContain('users:write');
    expect((await gw.deps.db('users').where({ id: user.id }).first()).last_login_at).not.toBeNull();
  });

  it('answers a wrong password, an unknown email and a disabled account identically', async () => {
    const { user } = await gw.user('developer');
    const disabled = await gw.user('developer');
    await gw.deps.db('users').where({ id: disabled.user.id }).update({ disabled: true });
    const answers = await Promise.all([
      login(user.email, 'wrong password entirely'),
      login('nobody-here@example.test', PASSWORD),
      login(disabled.user.email, PASSWORD),
    ]);
    for (const res of answers) {
      expect(res.status).toBe(401);
      expect(res.body.error).toMatchObject({ code: 'unauthorized', message: 'Invalid email or password' });
    }
  });

  it('limits failures per account with 429 and Retry-After, even for the right password, and counts it', async () => {
    const { user } = await gw.user('developer');
    for (let i = 0; i < 10; i++) expect((await login(user.email, `wrong-${i}`)).status).toBe(401);
    const blocked = await login(user.email, PASSWORD);
    expect(blocked.status).toBe(429);
    expect(blocked.body.error.code).toBe('rate_limited');
    expect(Number(blocked.headers.get('retry-after'))).toBeGreaterThan(0);
    const metrics = await gw.request('/metrics');
    expect(metrics.text).toMatch(/keywallet_rate_limited_total\{scope="login",limit="login"\} [1-9]/);
    // another account is not affected
    const other = await gw.user('developer');
    expect((await login(other.user.email, PASSWORD)).status).toBe(200);
  });

  it('limits failures per IP across accounts', async () => {
    const ip = freshIp();
    const results = await Promise.all(Array.from({ length: 55 }, (_, i) => login(`spray-${i}@example.test`, 'guess', ip)));
    const statuses = results.map((r) => r.status);
    expect(statuses.filter((s) => s === 401)).toHaveLength(50);
    expect(statuses.filter((s) => s === 429)).toHaveLength(5);
    const { user } = await gw.user('developer');
    expect((await login(user.email, PASSWORD, ip)).status).toBe(429);
  });

  it('does not count successful logins against the limit', async () => {
    const { user } = await gw.user('developer');
    const ip = freshIp();
    for (let i = 0; i < 12; i++) expect((await login(user.email, PASSWORD, ip)).status).toBe(200);
  });

  it('changes one’s own password only with the current one', async () => {
    const { user, token } = await gw.user('developer');
    const wrong = await gw.request('/auth/password', { token, body: { currentPassword: 'not the one at all', newPassword: 'a brand new passphrase' }, headers: freshIp() });
    expect(wrong.status).toBe(403);
    const other = (await login(user.email, PASSWORD)).body.token; // a second session, elsewhere
    expect((await gw.request('/auth/me', { token: other })).status).toBe(200);
    const ok = await gw.request('/auth/password', { token, body: { currentPassword: PASSWORD, newPassword: 'a brand new passphrase' }, headers: freshIp() });
    expect(ok.status).toBe(200);
    // every session issued before the change is over; the answer carries a fresh one
    expect((await gw.request('/auth/me', { token })).status).toBe(401);
    expect((await gw.request('/auth/me', { token: other })).status).toBe(401);
    expect(ok.body).toMatchObject({ ok: true, tokenType: 'Bearer', user: { id: user.id } });
    expect((await gw.request('/auth/me', { token: ok.body.token })).status).toBe(200);
    expect((await login(user.email, PASSWORD)).status).toBe(401);
    expect((await login(user.email, 'a brand new passphrase')).status).toBe(200);
    const audit = await gw.deps.db('audit_log').where({ action: 'user.password_change', target_id: user.id });
    expect(audit).toHaveLength(1);
  });

  it('never logs a password or a token', async () => {
    const { user } = await gw.user('developer');
    const res = await login(user.email, PASSWORD);
    const logs = gw.logs.join('');
    expect(logs).not.toContain(PASSWORD);
    expect(logs).not.toContain(res.body.token);
  });
});
