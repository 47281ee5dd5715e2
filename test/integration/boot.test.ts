import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { runGatewayToExit, spawnGateway } from '../helpers/process';
import { createSharedBackend, TEST_BACKEND } from '../helpers/backend';

const KEY = '1:' + Buffer.alloc(32, 3).toString('base64');
const JWT = 'boot-test-jwt-secret-0123456789abcdefghij';

jest.setTimeout(400_000); // real processes on a shared, sometimes heavily loaded machine

describe(`boot as a real process (${TEST_BACKEND})`, () => {
  it('refuses a malformed KEYWALLET_MASTER_KEYS with a non-zero exit naming the variable', async () => {
    const res = await runGatewayToExit({ KEYWALLET_MASTER_KEYS: 'oops', JWT_SECRET: JWT });
    expect(res.code).not.toBe(0);
    expect(res.output).toContain('KEYWALLET_MASTER_KEYS');
    expect(res.output).not.toContain('oops');
  });

  it('refuses to start in production without secrets', async () => {
    const res = await runGatewayToExit({ NODE_ENV: 'production', JWT_SECRET: JWT });
    expect(res.code).not.toBe(0);
    expect(res.output).toContain('KEYWALLET_MASTER_KEYS: is required when NODE_ENV=production');
  });

  it('starts with no server configured, answers /health, prints the first admin password once, and shuts down on SIGTERM', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kwboot-'));
    const gw = await spawnGateway({ DATA_DIR: dataDir });
    try {
      const res = await fetch(`${gw.url}/health`);
      expect(res.status).toBe(200);
      expect(gw.output()).toMatch(/First admin created: admin@localhost\n\s+Password \(shown once\): \S{20,}/);
      expect(fs.statSync(path.join(dataDir, 'secrets.json')).mode & 0o777).toBe(0o600);
    } finally {
      expect(await gw.stop('SIGTERM')).toBe(0);
    }
    expect(gw.output()).toContain('shutdown complete');
    // a second boot on the same data keeps the admin and prints no new password
    const again = await spawnGateway({ DATA_DIR: dataDir });
    expect((await fetch(`${again.url}/ready`)).status).toBe(200);
    expect(await again.stop('SIGINT')).toBe(0);
    expect(again.output()).not.toContain('First admin created');
  });

  it('listens on the loopback interface only when HOST is not set (14.15)', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kwboot-'));
    const gw = await spawnGateway({ DATA_DIR: dataDir, HOST: undefined });
    try {
      const port = Number(new URL(gw.url).port);
      expect((await fetch(`http://127.0.0.1:${port}/health`)).status).toBe(200);
      // Linux routes all of 127/8 to the loopback device: a gateway on 0.0.0.0 would accept this connection
      const other = await new Promise<string>((resolve) => {
        const socket = net.connect(port, '127.0.0.2');
        socket.once('connect', () => (socket.destroy(), resolve('connected')));
        socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? 'error'));
      });
      expect(other).toBe('ECONNREFUSED');
    } finally {
      await gw.stop();
    }
  });

  if (TEST_BACKEND === 'postgres') {
    it('boots against PostgreSQL + Redis and reports both ready', async () => {
      const backend = await createSharedBackend();
      const gw = await spawnGateway({
        DATABASE_URL: backend.databaseUrl!,
        REDIS_URL: backend.redisUrl!,
        KEYWALLET_MASTER_KEYS: KEY,
        JWT_SECRET: JWT,
        KEYWALLET_ADMIN_EMAIL: 'ops@example.com',
        KEYWALLET_ADMIN_PASSWORD: 'a-long-enough-password',
      });
      try {
        const ready = await (await fetch(`${gw.url}/ready`)).json();
        expect(ready).toEqual({ status: 'ready', checks: { database: 'ok', redis: 'ok' } });
      } finally {
        await gw.stop();
        await backend.drop();
      }
    });

    it('a second gateway on the same DATA_DIR refuses on PostgreSQL too: the usage spool lives there (14.13)', async () => {
      const backend = await createSharedBackend();
      const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kwboot-'));
      const env = { DATABASE_URL: backend.databaseUrl!, REDIS_URL: backend.redisUrl!, KEYWALLET_MASTER_KEYS: KEY, JWT_SECRET: JWT, DATA_DIR: dataDir };
      const gw = await spawnGateway(env);
      try {
        const second = await runGatewayToExit({ ...env, HOST: '127.0.0.1' });
        expect(second.code).toBe(78);
        expect(second.output).toContain(`is in use by a keywallet gateway (PID ${gw.child.pid}`);
        // another DATA_DIR on the same database is a second node, as designed
        const node2 = await spawnGateway({ ...env, DATA_DIR: fs.mkdtempSync(path.join(os.tmpdir(), 'kwboot-')) });
        expect((await fetch(`${node2.url}/ready`)).status).toBe(200);
        await node2.stop();
      } finally {
        await gw.stop();
        await backend.drop();
      }
    });

    it('reports /ready 503 naming Redis when it is unreachable', async () => {
      const backend = await createSharedBackend();
      const gw = await spawnGateway({
        DATABASE_URL: backend.databaseUrl!,
        REDIS_URL: 'redis://127.0.0.1:1',
        KEYWALLET_MASTER_KEYS: KEY,
        JWT_SECRET: JWT,
      });
      try {
        const res = await fetch(`${gw.url}/ready`);
        expect(res.status).toBe(503);
        const body = (await res.json()) as { checks: Record<string, string> };
        expect(body.checks.database).toBe('ok');
        expect(body.checks.redis).toMatch(/^failing/);
      } finally {
        await gw.stop();
        await backend.drop();
      }
    });
  }
});
