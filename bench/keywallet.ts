/**
 * Keywallet under test: the built gateway (node dist/src/main.js) in its own process, on a fresh PostgreSQL
 * database + a Redis database of its own, or on the embedded default (PGlite in a temp DATA_DIR, in-process
 * store); `cluster` is PostgreSQL + Redis with WORKERS = the machine's cores (a primary and that many workers),
 * the others run WORKERS=1. Everything is set up through the real HTTP API as an admin, with every feature on the request
 * path switched on and sized so it never refuses a request: a wallet entry with a quota, a gateway key with
 * restrictions, rate limits and monthly credits, the admin's plan limits and credits — and, where the gateway has
 * them (issue 17), the key in a team with a team budget, the member's and the key's share of it, and an
 * organisation budget: every level of the budget chain is reserved and settled on every call.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import Redis from 'ioredis';
import { Client } from 'pg';
import { BenchProcess, logTail, processTree, spawnNode } from './processes';

export const ROOT = path.resolve(__dirname, '..');
const PG_ADMIN_URL = process.env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
/** A Redis database of its own, so the bench can remove exactly its keys afterwards. */
const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379/15';
/** The cluster's: another Redis database, so its usage stream and counters never mix with the one-process run's. */
const CLUSTER_REDIS_URL = (() => {
  const url = new URL(REDIS_URL);
  url.pathname = `/${(Number(url.pathname.slice(1) || 0) + 15) % 16}`;
  return url.toString();
})();
export const CORES = os.availableParallelism();
const ELD_PROBE = path.join(__dirname, 'eld-probe.cjs');
const REDIS_PREFIX = 'kw:'; // Keywallet's default key prefix (src/store/redis-kv.ts)
const BIG = 1_000_000_000;

export type Backend = 'postgres' | 'embedded' | 'cluster';

export interface Keywallet {
  backend: Backend;
  proc: BenchProcess;
  url: string;
  gatewayKey: string;
  metricsToken: string;
  /** rows in usage_events (PostgreSQL only; PGlite is held open by the gateway) */
  countUsageEvents(): Promise<number | null>;
  /** keywallet_usage_events_written_total from /metrics */
  usageEventsWritten(): Promise<number>;
  databaseUrl?: string;
  /** where bench/eld-probe.cjs dumps each process's event-loop delay (bench/event-loop.ts) */
  eldDir: string;
  /** the gateway's processes running dist/src/main.js: one, or a cluster's primary and its workers */
  pids(): number[];
  /** removes the database, the Redis keys and the data directory; call after the process has stopped */
  cleanup(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

/** PostgreSQL and Redis answer, or the reason they don't (the PostgreSQL run is then skipped). */
export async function serversProblem(): Promise<string | null> {
  const pg = new Client({ connectionString: PG_ADMIN_URL, connectionTimeoutMillis: 3000 });
  try {
    await pg.connect();
    await pg.query('select 1');
  } catch (err) {
    return `PostgreSQL at ${PG_ADMIN_URL}: ${(err as Error).message}`;
  } finally {
    await pg.end().catch(() => {});
  }
  const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null });
  redis.on('error', () => {});
  try {
    await redis.connect();
    await redis.ping();
  } catch (err) {
    return `Redis at ${REDIS_URL}: ${(err as Error).message}`;
  } finally {
    redis.disconnect();
  }
  return null;
}

async function withPg<T>(url: string, fn: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

async function deleteRedisKeys(url: string): Promise<void> {
  const redis = new Redis(url, { maxRetriesPerRequest: 1 });
  redis.on('error', () => {});
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${REDIS_PREFIX}*`, 'COUNT', 1000);
      if (keys.length) await redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

async function waitReady(url: string, proc: BenchProcess, timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (proc.child.exitCode !== null) throw new Error(`${proc.name} exited (${proc.child.exitCode}):\n${logTail(proc.logFile)}`);
    try {
      const res = await fetch(`${url}/ready`);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`${proc.name} not ready within ${timeoutMs / 1000} s:\n${logTail(proc.logFile)}`);
}

async function call(base: string, method: string, route: string, token: string | null, body?: unknown): Promise<Record<string, unknown>> {
  const res = await fetch(`${base}${route}`, {
    method,
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`set-up ${method} ${route} answered ${res.status}: ${text.slice(0, 500)}`);
  return text ? (JSON.parse(text) as Record<string, unknown>) : {};
}

/** Every request-path feature on, every limit far above what the benchmark can reach. */
async function configure(base: string, email: string, password: string, upstreamUrl: string): Promise<string> {
  // the gateway answers /ready as soon as it listens; the first admin is created a moment after that
  let login: Record<string, unknown> | null = null;
  for (let attempt = 0; !login; attempt++) {
    try {
      login = await call(base, 'POST', '/auth/login', null, { email, password });
    } catch (err) {
      if (attempt >= 50 || !/answered 401/.test((err as Error).message)) throw err;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
  const jwt = String(login.token);
  const me = (login.user ?? {}) as { id?: string; plan?: string };
  await call(base, 'PATCH', '/services/openai', jwt, { baseUrl: upstreamUrl, allowPrivate: true });
  // The key's own limits override the plan's, but the user-level windows and credits come from the plan.
  await call(base, 'PATCH', `/plans/${me.plan ?? 'enterprise'}`, jwt, { rpm: BIG, rph: BIG, rpd: BIG, tpm: BIG, monthlyCredits: BIG });
  await call(base, 'POST', '/wallet/keys', jwt, {
    secret: `sk-proj-bench${crypto.randomBytes(24).toString('hex')}`,
    service: 'openai',
    label: 'bench upstream',
    tier: 'paid',
    priority: 10,
    environment: 'live',
    quota: { limit: 1e12, unit: 'requests', period: 'month' },
  });
  // a team whose budget, shares and the organisation's budget are all reserved per call (skipped where absent)
  const team = await call(base, 'POST', '/teams', jwt, { name: 'bench', slug: 'bench' });
  await call(base, 'POST', `/teams/${team.id}/members`, jwt, { userId: me.id, role: 'team_admin' });
  const created = await call(base, 'POST', '/api-keys', jwt, {
    teamId: team.id,
    name: 'bench',
    environment: 'live',
    scopes: ['chat', 'models'],
    services: ['openai'],
    models: ['gpt-4o-mini', 'gpt-4o'],
    allowedIps: ['127.0.0.1/32', '::1/128'],
    limits: { rpm: BIG, rph: BIG, rpd: BIG, tpm: BIG },
    monthlyCredits: 1_000_000,
  });
  const optional = (method: string, route: string, body: unknown) =>
    call(base, method, route, jwt, body).catch((err: Error) => {
      if (!/answered 404/.test(err.message)) throw err;
    });
  await optional('PUT', `/teams/${team.id}/budget`, { budget: 1_000_000, members: [{ userId: me.id, budget: 1_000_000 }], keys: [{ keyId: created.id, budget: 1_000_000 }] });
  await optional('PUT', '/org/budget', { budget: 1_000_000, period: 'monthly' });
  return String(created.key);
}

function parseCounter(text: string, name: string): number {
  const match = new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.e+]+)$`, 'm').exec(text);
  return match ? Number(match[1]) : 0;
}

/** The node flags of `npm start` (package.json), so the benchmark runs the gateway the way it is deployed. */
export function startFlags(root = ROOT): string[] {
  const start: string = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')).scripts.start;
  const words = start.split(/\s+/);
  return words.slice(words.indexOf('node') + 1).filter((w) => w.startsWith('--'));
}

/** `root`: the checkout whose build runs (bench/ab.ts runs another one side by side); `extraEnv` overrides the gateway's environment. */
export interface StartOptions {
  extraNodeArgs?: string[];
  root?: string;
  extraEnv?: Record<string, string>;
  name?: string;
}

export async function startKeywallet(backend: Backend, upstreamUrl: string, logDir: string, options: StartOptions = {}): Promise<Keywallet> {
  const { extraNodeArgs = [], root = ROOT, extraEnv = {} } = options;
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const email = 'bench-admin@example.com';
  const password = crypto.randomBytes(18).toString('base64url');
  const metricsToken = crypto.randomBytes(18).toString('base64url');
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kw-bench-data-'));
  const eldDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kw-bench-eld-'));
  const onPostgres = backend !== 'embedded';
  const redisUrl = backend === 'cluster' ? CLUSTER_REDIS_URL : REDIS_URL;
  const dbName = `kw_bench_${crypto.randomBytes(5).toString('hex')}`;
  let databaseUrl: string | undefined;
  if (onPostgres) {
    await withPg(PG_ADMIN_URL, (c) => c.query(`create database ${dbName}`));
    const dbUrl = new URL(PG_ADMIN_URL);
    dbUrl.pathname = `/${dbName}`;
    databaseUrl = dbUrl.toString();
    await deleteRedisKeys(redisUrl);
  }
  const cleanup = async () => {
    fs.rmSync(dataDir, { recursive: true, force: true });
    fs.rmSync(eldDir, { recursive: true, force: true });
    if (!onPostgres) return;
    await withPg(PG_ADMIN_URL, (c) => c.query(`drop database if exists ${dbName} with (force)`));
    await deleteRedisKeys(redisUrl);
  };
  const env: Record<string, string> = {
    NODE_ENV: 'production',
    HOST: '127.0.0.1',
    PORT: String(port),
    DATA_DIR: dataDir,
    KEYWALLET_MASTER_KEYS: `1:${crypto.randomBytes(32).toString('base64')}`,
    JWT_SECRET: crypto.randomBytes(48).toString('base64url'),
    KEYWALLET_ADMIN_EMAIL: email,
    KEYWALLET_ADMIN_PASSWORD: password,
    LOG_LEVEL: 'info',
    METRICS_TOKEN: metricsToken,
    DATABASE_URL: databaseUrl ?? '',
    REDIS_URL: onPostgres ? redisUrl : '',
    // one process, or every core: the default on PostgreSQL + Redis is the cores, so the one-process run says so
    WORKERS: backend === 'cluster' ? String(CORES) : '1',
    KW_ELD_DIR: eldDir,
    ...extraEnv,
  };
  const name = options.name ?? `keywallet-${backend}`;
  let proc: BenchProcess | null = null;
  try {
    proc = spawnNode(name, [...startFlags(root), '-r', ELD_PROBE, ...extraNodeArgs, path.join(root, 'dist/src/main.js')], env, logDir, root);
    await waitReady(url, proc);
    const gatewayKey = await configure(url, email, password, upstreamUrl);
    // a cluster's other workers hear of the service change over Redis pub/sub: a moment later
    if (backend === 'cluster') await new Promise((resolve) => setTimeout(resolve, 1500));
    const pid = proc.pid;
    return {
      backend,
      proc,
      url,
      gatewayKey,
      metricsToken,
      databaseUrl,
      eldDir,
      // the gateway's own processes (they run the probe); never another child, which SIGUSR2 would end
      pids: () => processTree(pid).filter((p) => {
        try {
          return fs.readFileSync(`/proc/${p}/cmdline`, 'utf8').includes('dist/src/main.js');
        } catch {
          return false;
        }
      }),
      cleanup,
      countUsageEvents: async () =>
        databaseUrl ? withPg(databaseUrl, async (c) => Number((await c.query('select count(*) as n from usage_events')).rows[0].n)) : null,
      usageEventsWritten: async () => {
        const res = await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${metricsToken}` } });
        return parseCounter(await res.text(), 'keywallet_usage_events_written_total');
      },
    };
  } catch (err) {
    if (proc) proc.child.kill('SIGKILL');
    await cleanup().catch(() => {});
    throw err;
  }
}
