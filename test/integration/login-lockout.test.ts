import { startTestGateway, TestGateway } from '../helpers/gateway';
import { TEST_BACKEND } from '../helpers/backend';

const PASSWORD = 'correct horse battery staple';

/**
 * Issue 14.6: ten failed logins from anywhere locked the account's owner out (the right password answered 429 for
 * minutes). Failures are now throttled per (account, source) with backoff and per source; the per-account limit
 * only refuses sources that never logged in to the account.
 */
describe(`14.6 account lockout as a weapon (${TEST_BACKEND})`, () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway({ env: { TRUST_PROXY: 'true' } });
  });
  afterAll(() => gw.close());

  const login = (email: string, password: string, ip: string) =>
    gw.request('/auth/login', { body: { email, password }, headers: { 'x-forwarded-for': ip } });

  it('failures from many addresses do not lock the owner out of the address they log in from', async () => {
    const { user } = await gw.user('admin');
    expect((await login(user.email, PASSWORD, '192.0.2.10')).status).toBe(200);
    for (let i = 0; i < 12; i++) expect([401, 429]).toContain((await login(user.email, `wrong-${i}`, `198.51.100.${i + 1}`)).status);
    // an address that never logged in to the account is held back meanwhile ...
    const stranger = await login(user.email, PASSWORD, '203.0.113.50');
    expect(stranger.status).toBe(429);
    // ... the owner's is not
    const owner = await login(user.email, PASSWORD, '192.0.2.10');
    expect(owner.status).toBe(200);
    expect(owner.body.token).toEqual(expect.any(String));
  });

  it('one source guessing one account backs off exponentially, without touching the account for others', async () => {
    const { user } = await gw.user('developer');
    expect((await login(user.email, PASSWORD, '192.0.2.20')).status).toBe(200);
    const attacker = '198.51.100.200';
    for (let i = 0; i < 5; i++) expect((await login(user.email, `guess-${i}`, attacker)).status).toBe(401);
    const held = await login(user.email, `guess-5`, attacker);
    expect(held.status).toBe(429);
    expect(held.body.error.code).toBe('rate_limited');
    expect(Number(held.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    // even the right password waits from there: the pair is backing off, not judged
    expect((await login(user.email, PASSWORD, attacker)).status).toBe(429);
    expect((await login(user.email, PASSWORD, '192.0.2.20')).status).toBe(200);
  });

  it('an unknown email, a wrong password and a disabled account still answer alike', async () => {
    const { user } = await gw.user('developer');
    const answers = [await login('nobody@example.test', PASSWORD, '192.0.2.40'), await login(user.email, 'nope nope nope', '192.0.2.41')];
    for (const res of answers) expect(res.body.error).toMatchObject({ code: 'unauthorized', message: 'Invalid email or password' });
  });
});
