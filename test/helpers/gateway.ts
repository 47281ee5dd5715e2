import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import http from 'node:http';
import { Writable } from 'node:stream';
import { loadConfig, Config } from '../../src/config';
import { createDeps, closeDeps, Deps } from '../../src/deps';
import { buildApp } from '../../src/app';
import { createLogger } from '../../src/logger';
import type { Clock } from '../../src/clock';
import type { Role } from '../../src/auth/permissions';
import { createUser, UserRow } from '../../src/auth/users';
import { signJwt } from '../../src/auth/jwt';
import { createSharedBackend, SharedBackend } from './backend';

export const TEST_MASTER_KEYS = '1:' + Buffer.alloc(32, 7).toString('base64');
export const TEST_JWT_SECRET = 'test-jwt-secret-that-is-long-enough-0123456789';

export interface HttpResult<T = any> {
  status: number;
  headers: Headers;
  body: T;
  text: string;
}

export interface RequestOptions {
  method?: string;
  body?: unknown;
  token?: string;
  headers?: Record<string, string>;
}

export interface TestGateway {
  deps: Deps;
  config: Config;
  url: string;
  backend: SharedBackend;
  /** every log line the gateway wrote (for secret scanning) */
  logs: string[];
  request<T = any>(path: string, opts?: RequestOptions): Promise<HttpResult<T>>;
  /** a user of that role with a JWT */
  user(role: Role, email?: string, planId?: string): Promise<{ user: UserRow; token: string }>;
  close(): Promise<void>;
}

export interface TestGatewayOptions {
  env?: Record<string, string>;
  clock?: Clock;
  /** share the database and Redis prefix of another gateway (a second node) */
  backend?: SharedBackend;
}

let userSeq = 0;

/** Builds the real app on a fresh database and store (or a shared one), listening on a random port. */
export async function startTestGateway(opts: TestGatewayOptions = {}): Promise<TestGateway> {
  const backend = opts.backend ?? (await createSharedBackend());
  const config = loadConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: 'debug',
    KEYWALLET_MASTER_KEYS: TEST_MASTER_KEYS,
    JWT_SECRET: TEST_JWT_SECRET,
    DATABASE_URL: backend.databaseUrl,
    REDIS_URL: backend.redisUrl,
    PORT: '0',
    HOST: '127.0.0.1',
    ...opts.env,
  });
  const logs: string[] = [];
  const spoolDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kw-test-spool-')); // each gateway its own usage spool
  const sink = new Writable({
    write(chunk, _enc, cb) {
      logs.push(String(chunk));
      cb();
    },
  });
  const deps = await createDeps(config, {
    logger: createLogger(config.logLevel, sink),
    clock: opts.clock,
    pgliteDir: null,
    kvPrefix: backend.kvPrefix,
    usageSpoolDir: spoolDir,
  });
  const app = buildApp(deps);
  const server = http.createServer(app.callback());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  const url = `http://127.0.0.1:${port}`;

  return {
    deps,
    config,
    url,
    backend,
    logs,
    async request(path, o = {}) {
      const headers: Record<string, string> = { ...o.headers };
      if (o.token) headers.authorization = `Bearer ${o.token}`;
      let body: string | undefined;
      if (o.body !== undefined) {
        body = typeof o.body === 'string' ? o.body : JSON.stringify(o.body);
        headers['content-type'] ??= 'application/json';
      }
      const res = await fetch(url + path, { method: o.method ?? (body ? 'POST' : 'GET'), headers, body });
      const text = await res.text();
      let parsed: unknown = text;
      try {
        parsed = text ? JSON.parse(text) : null;
      } catch {
        /* not JSON: keep the text */
      }
      return { status: res.status, headers: res.headers, body: parsed as any, text };
    },
    async user(role, email, planId) {
      const user = await createUser(
        deps.db,
        { email: email ?? `${role}${++userSeq}-${Date.now()}@example.test`, password: 'correct horse battery staple', role, planId },
        { type: 'system' },
      );
      return { user, token: signJwt(config.jwt, { sub: user.id, role, ver: user.token_version }) };
    },
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await closeDeps(deps);
      fs.rmSync(spoolDir, { recursive: true, force: true });
      if (!opts.backend) await backend.drop();
    },
  };
}
