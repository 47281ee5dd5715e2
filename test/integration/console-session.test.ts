import { startTestGateway, TestGateway } from '../helpers/gateway';
import { TEST_BACKEND } from '../helpers/backend';
import { createGatewayKey } from '../helpers/keys';
import { ensureFirstAdmin } from '../../src/auth/bootstrap';
import { updateUser } from '../../src/auth/user-admin';

const PASSWORD = 'correct horse battery staple';
const NEW_PASSWORD = 'a brand new passphrase 42';

interface ConsoleSession {
  cookie: string;
  csrf: string;
  setCookie: string;
  body: any;
}

describe(`console sessions: cookie + CSRF (${TEST_BACKEND})`, () => {
  let gw: TestGateway;
  let ipSeq = 0;
  const freshIp = () => ({ 'x-forwarded-for': `203.0.113.${++ipSeq}` });

  beforeAll(async () => {
    gw = await startTestGateway({ env: { TRUST_PROXY: 'true' } });
  });
  afterAll(() => gw.close());

  async function signIn(email: string, password = PASSWORD): Promise<ConsoleSession> {
    const res = await gw.request('/auth/session', { body: { email, password }, headers: freshIp() });
    if (res.status !== 200) throw new Error(`POST /auth/session answered ${res.status}: ${res.text}`);
    const setCookie = res.headers.get('set-cookie')!;
    return { cookie: setCookie.split(';')[0], csrf: res.body.csrfToken, setCookie, body: res.body };
  }
  const withSession = (s: ConsoleSession, csrf = true) => ({ cookie: s.cookie, ...(csrf ? { 'x-csrf-token': s.csrf } : {}) });

  it('logs in with an httpOnly SameSite=Strict cookie on Path=/, the user and a CSRF token, and no bearer token', async () => {
    const { user } = await gw.user('developer');
    const s = await signIn(user.email);
    expect(s.setCookie).toMatch(/^kw_session=[A-Za-z0-9_-]{43}; /);
    expect(s.setCookie).toMatch(/; HttpOnly/);
    expect(s.setCookie).toMatch(/; SameSite=Strict/);
    expect(s.setCookie).toMatch(/; Path=\//);
    expect(s.setCookie).not.toMatch(/Secure/); // plain http outside production
    expect(s.body).toEqual({
      user: { id: user.id, email: user.email, role: 'developer', plan: 'free', mustChangePassword: false },
      csrfToken: expect.any(String),
      expiresAt: expect.any(String),
    });
    expect(JSON.stringify(s.body)).not.toContain(s.cookie.split('=')[1]);
    const stored = await gw.deps.db('console_sessions').where({ user_id: user.id });
    expect(stored).toHaveLength(1);
    expect(stored[0].token_hash).not.toBe(s.cookie.split('=')[1]);
    const again = await gw.request('/auth/session', { headers: withSession(s, false) });
    expect(again.status).toBe(200);
    expect(again.body.user.id).toBe(user.id);
    expect(again.body.csrfToken).toBe(s.csrf);
  });

  it('marks the cookie Secure over https (behind a trusted proxy)', async () => {
    const { user } = await gw.user('analyst');
    const res = await gw.request('/auth/session', { body: { email: user.email, password: PASSWORD }, headers: { ...freshIp(), 'x-forwarded-proto': 'https' } });
    expect(res.headers.get('set-cookie')).toMatch(/; Secure/);
  });

  it('answers a wrong password like /auth/login and goes through the same login throttle', async () => {
    const { user } = await gw.user('developer');
    const wrong = await gw.request('/auth/session', { body: { email: user.email, password: 'not the password' }, headers: freshIp() });
    expect(wrong.status).toBe(401);
    expect(wrong.body.error).toMatchObject({ code: 'unauthorized', message: 'Invalid email or password' });
    expect(wrong.headers.get('set-cookie')).toBeNull();
    const ip = freshIp();
    let last = wrong;
    for (let i = 0; i < 12; i++) last = await gw.request('/auth/session', { body: { email: user.email, password: 'still wrong' }, headers: ip });
    expect(last.status).toBe(429);
    // the throttle is the one /auth/login counts in (this account from this address is backing off)
    expect((await gw.request('/auth/login', { body: { email: user.email, password: PASSWORD }, headers: ip })).status).toBe(429);
  });

  it('GET /auth/session without a session is 401; with a Bearer JWT it is 401 too (it is the cookie’s route)', async () => {
    expect((await gw.request('/auth/session')).status).toBe(401);
    const { token } = await gw.user('admin');
    const res = await gw.request('/auth/session', { token });
    expect(res.status).toBe(401);
    expect((await gw.request('/auth/session', { headers: { cookie: 'kw_session=forged-token-value' } })).status).toBe(401);
  });

  it('accepts the cookie on the management API, with the role’s permissions (wrong role → 403)', async () => {
    const { user } = await gw.user('developer');
    const s = await signIn(user.email);
    expect((await gw.request('/api-keys', { headers: withSession(s, false) })).status).toBe(200);
    const users = await gw.request('/users', { headers: withSession(s, false) });
    expect(users.status).toBe(403);
    expect(users.body.error.code).toBe('forbidden');
    const wallet = await gw.request('/wallet/keys', { headers: withSession(s) });
    expect(wallet.status).toBe(403);
  });

  it('refuses a state-changing call made with the cookie without the CSRF token, or with a wrong one, and changes nothing', async () => {
    const { user } = await gw.user('developer');
    const s = await signIn(user.email);
    const body = { name: 'from the console', environment: 'live', scopes: ['chat'] };
    const missing = await gw.request('/api-keys', { method: 'POST', body, headers: withSession(s, false) });
    expect(missing.status).toBe(403);
    expect(missing.body.error).toMatchObject({ code: 'csrf_failed', message: expect.stringContaining('CSRF') });
    const wrong = await gw.request('/api-keys', { method: 'POST', body, headers: { cookie: s.cookie, 'x-csrf-token': s.csrf.slice(0, -2) + 'xx' } });
    expect(wrong.status).toBe(403);
    expect(wrong.body.error.code).toBe('csrf_failed');
    // another session's token is no good either: it is bound to the session
    const other = await signIn(user.email);
    const crossed = await gw.request('/api-keys', { method: 'POST', body, headers: { cookie: s.cookie, 'x-csrf-token': other.csrf } });
    expect(crossed.status).toBe(403);
    const logoutWithoutToken = await gw.request('/auth/session', { method: 'DELETE', headers: withSession(s, false) });
    expect(logoutWithoutToken.status).toBe(403);
    expect(await gw.deps.db('gateway_keys').where({ user_id: user.id })).toHaveLength(0);
    const ok = await gw.request('/api-keys', { method: 'POST', body, headers: withSession(s) });
    expect(ok.status).toBe(201);
  });

  it('needs no CSRF token for Bearer calls, even with a session cookie alongside', async () => {
    const { user, token } = await gw.user('developer');
    const s = await signIn(user.email);
    const res = await gw.request('/api-keys', { method: 'POST', token, headers: { cookie: s.cookie }, body: { name: 'script', environment: 'live', scopes: ['chat'] } });
    expect(res.status).toBe(201);
  });

  it('never accepts the session cookie on /v1 or /proxy', async () => {
    const { user } = await gw.user('admin');
    const s = await signIn(user.email);
    for (const [path, method] of [
      ['/v1/models', 'GET'],
      ['/v1/chat/completions', 'POST'],
      ['/v1/messages', 'POST'],
      ['/proxy', 'POST'],
      ['/proxy/stripe/v1/charges', 'GET'],
    ] as const) {
      const res = await gw.request(path, { method, headers: withSession(s), body: method === 'POST' ? { model: 'gpt-4o', messages: [], endpoint: '/v1/charges', method: 'GET' } : undefined });
      expect([path, res.status]).toEqual([path, 401]);
    }
  });

  it('logout ends the session: the cookie is cleared and refused afterwards', async () => {
    const { user } = await gw.user('developer');
    const s = await signIn(user.email);
    const out = await gw.request('/auth/session', { method: 'DELETE', headers: withSession(s) });
    expect(out.status).toBe(204);
    expect(out.headers.get('set-cookie')).toMatch(/^kw_session=; .*Max-Age=0/);
    expect((await gw.request('/api-keys', { headers: withSession(s) })).status).toBe(401);
    expect((await gw.request('/auth/session', { headers: withSession(s) })).status).toBe(401);
  });

  it('a password change ends every cookie session and answers with a fresh one (no bearer token for the page)', async () => {
    const { user } = await gw.user('developer');
    const s = await signIn(user.email);
    const elsewhere = await signIn(user.email);
    const res = await gw.request('/auth/password', { body: { currentPassword: PASSWORD, newPassword: NEW_PASSWORD }, headers: withSession(s) });
    expect(res.status).toBe(200);
    expect(res.body).not.toHaveProperty('token');
    expect(res.body.user).toMatchObject({ id: user.id, mustChangePassword: false });
    const fresh = res.headers.get('set-cookie')!.split(';')[0];
    expect(fresh).not.toBe(s.cookie);
    expect((await gw.request('/api-keys', { headers: withSession(s) })).status).toBe(401);
    expect((await gw.request('/api-keys', { headers: withSession(elsewhere) })).status).toBe(401);
    expect((await gw.request('/api-keys', { headers: { cookie: fresh } })).status).toBe(200);
  });

  it('an admin disabling a user ends their cookie sessions', async () => {
    const { user } = await gw.user('developer');
    const { token: adminToken } = await gw.user('admin');
    const s = await signIn(user.email);
    expect((await gw.request(`/users/${user.id}`, { method: 'PATCH', token: adminToken, body: { disabled: true } })).status).toBe(200);
    expect((await gw.request('/api-keys', { headers: withSession(s) })).status).toBe(401);
    await gw.request(`/users/${user.id}`, { method: 'PATCH', token: adminToken, body: { disabled: false } });
    expect((await gw.request('/api-keys', { headers: withSession(s) })).status).toBe(401);
  });

  it('ends a session after the idle timeout and after its absolute lifetime', async () => {
    const { user } = await gw.user('developer');
    const s = await signIn(user.email);
    // age the row instead of waiting: idle = last seen longer ago than CONSOLE_SESSION_IDLE_SECONDS
    const idle = gw.config.consoleSession.idleSeconds * 1000;
    await gw.deps.db('console_sessions').where({ user_id: user.id }).update({ last_seen_at: new Date(Date.now() - idle - 1000) });
    expect((await gw.request('/api-keys', { headers: withSession(s) })).status).toBe(401);
    const t = await signIn(user.email);
    await gw.deps.db('console_sessions').where({ user_id: user.id }).update({ expires_at: new Date(Date.now() - 1000) });
    expect((await gw.request('/api-keys', { headers: withSession(t) })).status).toBe(401);
  });
});

describe(`forced password change (${TEST_BACKEND})`, () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway({ env: { TRUST_PROXY: 'true' } });
  });
  afterAll(() => gw.close());

  it('the admin that first boot generates must change the printed password; until then only session, password and me answer', async () => {
    const logger = gw.deps.logger;
    await gw.deps.db('users').where({ role: 'admin' }).delete();
    const boot = await ensureFirstAdmin(gw.deps.db, { embedded: true }, logger);
    expect(boot.generatedPassword).toBeDefined();
    const login = await gw.request('/auth/login', { body: { email: 'admin@localhost', password: boot.generatedPassword }, headers: { 'x-forwarded-for': '192.0.2.1' } });
    expect(login.body.user.mustChangePassword).toBe(true);
    const token = login.body.token;
    for (const path of ['/users', '/wallet/keys', '/api-keys', '/audit']) {
      const res = await gw.request(path, { token });
      expect([path, res.status, res.body.error?.code]).toEqual([path, 403, 'password_change_required']);
    }
    expect((await gw.request('/auth/me', { token })).status).toBe(200);
    const session = await gw.request('/auth/session', { body: { email: 'admin@localhost', password: boot.generatedPassword }, headers: { 'x-forwarded-for': '192.0.2.2' } });
    expect(session.body.user.mustChangePassword).toBe(true);
    const cookie = session.headers.get('set-cookie')!.split(';')[0];
    expect((await gw.request('/auth/session', { headers: { cookie } })).status).toBe(200);
    expect((await gw.request('/users', { headers: { cookie } })).body.error.code).toBe('password_change_required');
    const same = await gw.request('/auth/password', { token, body: { currentPassword: boot.generatedPassword, newPassword: boot.generatedPassword } });
    expect(same.status).toBe(400);
    const changed = await gw.request('/auth/password', { token, body: { currentPassword: boot.generatedPassword, newPassword: NEW_PASSWORD } });
    expect(changed.status).toBe(200);
    expect(changed.body.user.mustChangePassword).toBe(false);
    expect((await gw.request('/users', { token: changed.body.token })).status).toBe(200);
  });

  it('an admin resetting someone else’s password makes them change it; changing one’s own does not', async () => {
    const { user } = await gw.user('developer');
    const { user: admin, token: adminToken } = await gw.user('admin');
    const reset = await gw.request(`/users/${user.id}`, { method: 'PATCH', token: adminToken, body: { password: 'temporary password 1' } });
    expect(reset.status).toBe(200);
    expect(reset.body.mustChangePassword).toBe(true);
    const login = await gw.request('/auth/login', { body: { email: user.email, password: 'temporary password 1' }, headers: { 'x-forwarded-for': '192.0.2.3' } });
    expect((await gw.request('/api-keys', { token: login.body.token })).body.error.code).toBe('password_change_required');
    // the CLI's `admin reset-password` calls the same function, with a system actor
    await updateUser(gw.deps, user.id, { password: 'temporary password 2' }, { type: 'cli' });
    expect((await gw.deps.db('users').where({ id: user.id }).first()).must_change_password).toBe(true);
    const own = await gw.request(`/users/${admin.id}`, { method: 'PATCH', token: adminToken, body: { password: 'my own new password' } });
    expect(own.body.mustChangePassword).toBe(false);
  });

  it('keeps a gateway key working while its owner must change their password (the rule is the management API’s)', async () => {
    const { user, token } = await gw.user('developer');
    const key = await createGatewayKey(gw, token);
    await gw.deps.db('users').where({ id: user.id }).update({ must_change_password: true });
    const res = await gw.request('/v1/models', { headers: { authorization: `Bearer ${key.key}` } });
    expect(res.status).toBe(200);
  });
});
