import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { runCli, runGatewayToExit, spawnGateway } from '../helpers/process';
import { createSharedBackend, TEST_BACKEND } from '../helpers/backend';

const KEY = '1:' + Buffer.alloc(32, 5).toString('base64');
const JWT = 'boot-admin-test-jwt-secret-0123456789abcdef';

jest.setTimeout(600_000);

const PRINTED_PASSWORD = /Password \(shown once\): (\S+)/;

async function login(url: string, email: string, password: string): Promise<{ status: number; token?: string; mustChangePassword?: boolean }> {
  const res = await fetch(`${url}/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email, password }) });
  const body = (await res.json()) as { token?: string; user?: { mustChangePassword: boolean } };
  return { status: res.status, token: body.token, mustChangePassword: body.user?.mustChangePassword };
}

async function me(url: string, token: string): Promise<number> {
  return (await fetch(`${url}/auth/me`, { headers: { authorization: `Bearer ${token}` } })).status;
}

function tmpDataDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'kwadmin-'));
}

/** 14.14: a busy port used to print the first admin's password and then crash on EADDRINUSE, losing it. */
describe(`first admin and a busy port, admin reset-password (14.14, ${TEST_BACKEND})`, () => {
  it('a busy port is a one-line refusal (exit 78) before any admin is created; the next start prints the password', async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as net.AddressInfo).port;
    const dataDir = tmpDataDir();
    try {
      const busy = await runGatewayToExit({ DATA_DIR: dataDir, HOST: '127.0.0.1', PORT: String(port) });
      expect(busy.code).toBe(78);
      expect(busy.output).toContain(`keywallet: cannot start: port ${port} is already in use on 127.0.0.1`);
      expect(busy.output).not.toContain('Password (shown once)');
      expect(busy.output).not.toMatch(/\n\s+at /); // no stack trace
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
    // no admin was created by the failed start, so this one creates it and prints its password
    const gw = await spawnGateway({ DATA_DIR: dataDir, PORT: String(port) });
    try {
      const password = PRINTED_PASSWORD.exec(gw.output())?.[1];
      expect(password).toBeDefined();
      expect((await login(gw.url, 'admin@localhost', password!)).status).toBe(200);
    } finally {
      expect(await gw.stop()).toBe(0);
    }
  });

  it('`keywallet admin reset-password` gives the embedded admin a new password (generated, or from the environment) and ends their sessions', async () => {
    const dataDir = tmpDataDir();
    const gw = await spawnGateway({ DATA_DIR: dataDir });
    const original = PRINTED_PASSWORD.exec(gw.output())![1];
    const session = (await login(gw.url, 'admin@localhost', original)).token!;
    expect(await me(gw.url, session)).toBe(200);
    expect(await gw.stop()).toBe(0);

    const generated = await runCli(['admin', 'reset-password', '--email', 'admin@localhost'], { DATA_DIR: dataDir });
    expect(generated.code).toBe(0);
    const newPassword = /New password \(shown once\): (\S+)/.exec(generated.stdout)?.[1];
    expect(newPassword).toBeDefined();
    expect(newPassword).not.toBe(original);

    const fromEnv = 'an-operator-chosen-password';
    const chosen = await runCli(['admin', 'reset-password', '--email', 'admin@localhost'], { DATA_DIR: dataDir, KEYWALLET_NEW_PASSWORD: fromEnv });
    expect(chosen.code).toBe(0);
    expect(chosen.stdout).toContain('password reset for admin@localhost');
    expect(chosen.output).not.toContain(fromEnv);

    const unknown = await runCli(['admin', 'reset-password', '--email', 'nobody@example.com'], { DATA_DIR: dataDir });
    expect(unknown.code).toBe(1);
    expect(unknown.output).toContain('no user nobody@example.com');

    const again = await spawnGateway({ DATA_DIR: dataDir });
    try {
      expect(await me(again.url, session)).toBe(401);
      expect((await login(again.url, 'admin@localhost', original)).status).toBe(401);
      expect((await login(again.url, 'admin@localhost', newPassword!)).status).toBe(401);
      // a password someone else chose is only good for choosing one's own (the same rule as an admin's reset)
      expect(await login(again.url, 'admin@localhost', fromEnv)).toMatchObject({ status: 200, mustChangePassword: true });
      expect(again.output()).not.toContain('First admin created');
    } finally {
      expect(await again.stop()).toBe(0);
    }
  });

  if (TEST_BACKEND === 'postgres') {
    it('on PostgreSQL the reset runs beside the running gateway and ends the sessions there at once (password from stdin)', async () => {
      const backend = await createSharedBackend();
      const env = { DATABASE_URL: backend.databaseUrl!, REDIS_URL: backend.redisUrl!, KEYWALLET_MASTER_KEYS: KEY, JWT_SECRET: JWT };
      const gw = await spawnGateway({ ...env, KEYWALLET_ADMIN_EMAIL: 'ops@example.com', KEYWALLET_ADMIN_PASSWORD: 'the-first-password' });
      try {
        const session = (await login(gw.url, 'ops@example.com', 'the-first-password')).token!;
        expect(await me(gw.url, session)).toBe(200);
        const reset = await runCli(['admin', 'reset-password', '--email', 'OPS@example.com'], env, 'a-password-from-stdin\n');
        expect(reset.code).toBe(0);
        expect(await me(gw.url, session)).toBe(401);
        expect(await login(gw.url, 'ops@example.com', 'a-password-from-stdin')).toMatchObject({ status: 200, mustChangePassword: true });
        const audit = await runCli(['audit', 'verify'], env);
        expect(audit.stdout).toContain('audit log intact');
      } finally {
        await gw.stop();
        await backend.drop();
      }
    });
  }
});
