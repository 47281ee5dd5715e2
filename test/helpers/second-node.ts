import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import http from 'node:http';
import { Writable } from 'node:stream';
import { loadConfig } from '../../src/config';
import { createDeps, Deps } from '../../src/deps';
import { buildApp } from '../../src/app';
import { createLogger } from '../../src/logger';
import { TEST_BACKEND } from './backend';
import { startTestGateway, TEST_JWT_SECRET, TestGateway } from './gateway';

export type GatewayNode = Pick<TestGateway, 'deps' | 'logs' | 'request' | 'close'>;

/**
 * Another gateway node on the same database and store as `gw`, with its own environment (e.g. other master
 * keys). On PostgreSQL + Redis it is a real second gateway; on the embedded default (an in-memory PGlite that
 * cannot be opened twice) it shares gw's database handle and in-process store but builds everything else anew.
 */
export async function startSecondNode(gw: TestGateway, env: Record<string, string>): Promise<GatewayNode> {
  if (TEST_BACKEND === 'postgres') return startTestGateway({ backend: gw.backend, env });
  const config = loadConfig({ NODE_ENV: 'test', LOG_LEVEL: 'debug', JWT_SECRET: TEST_JWT_SECRET, PORT: '0', HOST: '127.0.0.1', ...env });
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      logs.push(String(chunk));
      cb();
    },
  });
  // a usage spool of its own, so the node never takes the lock on the repository's ./data
  const usageSpoolDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kw-test-spool-'));
  const deps: Deps = await createDeps(config, { logger: createLogger(config.logLevel, sink), db: gw.deps.db, kv: gw.deps.kv, usageSpoolDir });
  const server = http.createServer(buildApp(deps).callback());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  return {
    deps,
    logs,
    async request(path, o = {}) {
      const headers: Record<string, string> = { ...o.headers };
      if (o.token) headers.authorization = `Bearer ${o.token}`;
      const body = o.body === undefined ? undefined : typeof o.body === 'string' ? o.body : JSON.stringify(o.body);
      if (body !== undefined) headers['content-type'] ??= 'application/json';
      const res = await fetch(url + path, { method: o.method ?? (body ? 'POST' : 'GET'), headers, body });
      const text = await res.text();
      let parsed: unknown = text;
      try {
        parsed = text ? JSON.parse(text) : null;
      } catch {
        /* not JSON */
      }
      return { status: res.status, headers: res.headers, body: parsed as never, text };
    },
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      // The first two closers destroy the shared database and store: gw closes those.
      for (const close of deps.closers.slice(2).reverse()) await close().catch(() => undefined);
    },
  };
}
