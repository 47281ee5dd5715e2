import jwt from 'jsonwebtoken';
import { Command } from 'commander';
import { startTestGateway, TestGateway, TEST_JWT_SECRET } from '../helpers/gateway';
import { TEST_BACKEND } from '../helpers/backend';
import { registerCoreCommands } from '../../scripts/commands/core';
import type { WithDeps } from '../../scripts/cli';

/**
 * Issue 14.7: a JWT without `exp` was accepted, and `keywallet token --ttl` minted anything (a token until 2126).
 * `exp` and `iss` are required, HS256 pinned, and no token lives longer than JWT_MAX_TTL_SECONDS.
 */
describe(`14.7 tokens without end (${TEST_BACKEND})`, () => {
  let gw: TestGateway;
  let admin: Awaited<ReturnType<TestGateway['user']>>;
  beforeAll(async () => {
    gw = await startTestGateway({ env: { JWT_MAX_TTL_SECONDS: String(7 * 86_400) } });
    admin = await gw.user('admin');
  });
  afterAll(() => gw.close());

  const me = (token: string) => gw.request('/auth/me', { token });
  const claims = () => ({ role: 'admin', ver: admin.user.token_version });

  it('refuses a token without exp, one reaching past the cap, one without iss, and one not HS256', async () => {
    expect((await me(admin.token)).status).toBe(200);
    const noExp = jwt.sign(claims(), TEST_JWT_SECRET, { algorithm: 'HS256', subject: admin.user.id, issuer: 'keywallet' });
    expect((await me(noExp)).status).toBe(401);
    const century = jwt.sign({ ...claims(), exp: Math.floor(Date.parse('2126-01-01') / 1000) }, TEST_JWT_SECRET, { algorithm: 'HS256', subject: admin.user.id, issuer: 'keywallet' });
    expect((await me(century)).status).toBe(401);
    const pastCap = jwt.sign(claims(), TEST_JWT_SECRET, { algorithm: 'HS256', subject: admin.user.id, issuer: 'keywallet', expiresIn: 8 * 86_400 });
    expect((await me(pastCap)).status).toBe(401);
    const noIss = jwt.sign(claims(), TEST_JWT_SECRET, { algorithm: 'HS256', subject: admin.user.id, expiresIn: 600 });
    expect((await me(noIss)).status).toBe(401);
    const hs512 = jwt.sign(claims(), TEST_JWT_SECRET, { algorithm: 'HS512', subject: admin.user.id, issuer: 'keywallet', expiresIn: 600 });
    expect((await me(hs512)).status).toBe(401);
    const withinCap = jwt.sign(claims(), TEST_JWT_SECRET, { algorithm: 'HS256', subject: admin.user.id, issuer: 'keywallet', expiresIn: 6 * 86_400 });
    expect((await me(withinCap)).status).toBe(200);
  });

  async function cliToken(args: string[]): Promise<{ out: string; error: Error | null }> {
    const out: string[] = [];
    const spy = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: any) => (out.push(String(chunk)), true));
    try {
      const program = new Command().exitOverride();
      registerCoreCommands(program, ((fn) => fn(gw.deps)) as WithDeps);
      await program.parseAsync(['node', 'keywallet', 'token', ...args]);
      return { out: out.join(''), error: null };
    } catch (err) {
      return { out: out.join(''), error: err as Error };
    } finally {
      spy.mockRestore();
    }
  }

  it('keywallet token refuses a --ttl over JWT_MAX_TTL_SECONDS with a message that says so, and mints within it', async () => {
    const century = await cliToken(['--email', admin.user.email, '--ttl', String(100 * 365 * 86_400)]);
    expect(century.error?.message).toMatch(/--ttl 3153600000: .*exceeds JWT_MAX_TTL_SECONDS \(604800 s = 7 days\)/);
    expect(century.out).toBe('');
    const ok = await cliToken(['--email', admin.user.email, '--ttl', '3600']);
    expect(ok.error).toBeNull();
    const token = ok.out.trim();
    const payload = jwt.decode(token) as { exp: number; iat: number; iss: string };
    expect(payload.exp - payload.iat).toBe(3600);
    expect(payload.iss).toBe('keywallet');
    expect((await me(token)).status).toBe(200);
  });
});
