import fs from 'node:fs';
import net from 'node:net';
import pg from 'pg';
import { runGatewayToExit, spawnGateway, GatewayProcess } from '../helpers/process';
import { createSharedBackend, SharedBackend } from '../helpers/backend';
import { startRestMock, MockUpstream } from '../mocks';

jest.setTimeout(240_000);

const ADMIN = { email: 'workers@example.com', password: 'a-long-enough-password' };

async function call(url: string, path: string, token: string, body?: unknown) {
  const res = await fetch(url + path, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = (await res.json()) as any;
  if (res.status >= 300) throw new Error(`${path}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

/** The gateway processes the primary forked (its children running the entry point: tsx may have an esbuild child too), from /proc. */
function workerPids(primary: number): number[] {
  return fs
    .readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .filter((pid) => {
      try {
        const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
        const parent = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
        return parent === primary && fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('src/main.ts');
      } catch {
        return false;
      }
    })
    .map(Number);
}

/** The value of one series of the Prometheus text, 0 when absent. */
function series(text: string, name: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line ? Number(line.slice(name.length + 1)) : 0;
}

/** The sum of every series of a metric whose labels include `label` (e.g. status="429"). */
function sum(text: string, metric: string, label: string): number {
  return text
    .split('\n')
    .filter((l) => l.startsWith(`${metric}{`) && l.includes(label))
    .reduce((n, l) => n + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
}

async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** `total` proxied calls over `concurrency` connections: each answered request's id, and the statuses. */
async function load(url: string, key: string, total: number, concurrency: number, prefix: string, onAnswer?: (answered: number) => void) {
  const answered: string[] = [];
  const statuses: Record<number, number> = {};
  let failed = 0;
  let next = 0;
  const loop = async () => {
    while (next < total) {
      const id = `${prefix}-${next++}`;
      try {
        // a client's own deadline: a connection node:cluster's primary was handing to the worker that was just killed
        // is never answered (the primary keeps it until the client gives up), like any request in flight on it
        const res = await fetch(`${url}/proxy/echo/ping`, { headers: { authorization: `Bearer ${key}`, 'x-request-id': id }, signal: AbortSignal.timeout(15_000) });
        await res.arrayBuffer();
        statuses[res.status] = (statuses[res.status] ?? 0) + 1;
        if (res.status === 200) answered.push(res.headers.get('x-request-id')!);
        onAnswer?.(answered.length);
      } catch {
        failed++; // no answer (the worker died, or the listener closed): no usage event is owed
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, loop));
  return { answered, statuses, failed };
}

/**
 * WORKERS=2 on PostgreSQL + Redis, the real entry point: one port, two gateway processes behind it. Limits stay exact
 * across the workers, /metrics sums both, a killed worker is replaced while the other serves on, and SIGTERM to the
 * primary drains both without losing the usage event of any answered request.
 */
describe('WORKERS=2: one port, two gateway processes (postgres + redis)', () => {
  let backend: SharedBackend;
  let mock: MockUpstream;
  let gw: GatewayProcess;
  let token: string;
  let loadKey: string;
  const answeredEverywhere: string[] = [];

  beforeAll(async () => {
    backend = await createSharedBackend();
    mock = await startRestMock();
    gw = await spawnGateway({
      DATABASE_URL: backend.databaseUrl!,
      REDIS_URL: backend.redisUrl!,
      WORKERS: '2',
      // a killed worker's unacknowledged stream entries are taken over by the other one soon
      USAGE_CLAIM_IDLE_MS: '1000',
      KEYWALLET_MASTER_KEYS: '1:' + Buffer.alloc(32, 5).toString('base64'),
      JWT_SECRET: 'workers-test-jwt-secret-0123456789abcdef',
      KEYWALLET_ADMIN_EMAIL: ADMIN.email,
      KEYWALLET_ADMIN_PASSWORD: ADMIN.password,
    });
    // the port answers once the first worker listens; the second may still be starting on a loaded machine
    await until('both workers listening', () => (gw.output().match(/"msg":"worker listening"/g) ?? []).length === 2, 60_000);
    ({ token } = await call(gw.url, '/auth/login', '', ADMIN));
    await call(gw.url, '/services', token, { slug: 'echo', name: 'Echo', kind: 'rest', baseUrl: mock.url, auth: { type: 'bearer' }, allowPrivate: true });
    // the service reaches the other worker's registry over Redis pub/sub, as it reaches another node: a moment later
    await until('the new service on both workers', async () => {
      try {
        await call(gw.url, '/wallet/keys', token, { secret: 'echo-secret-value-0001', service: 'echo', label: 'echo', tier: 'paid', priority: 1 });
        return true;
      } catch (err) {
        if (!/Unknown service echo/.test((err as Error).message)) throw err;
        return false;
      }
    }, 10_000);
    ({ key: loadKey } = await call(gw.url, '/api-keys', token, {
      name: 'load',
      environment: 'live',
      scopes: ['proxy'],
      limits: { rpm: 1_000_000, rph: 1_000_000, rpd: 1_000_000 },
    }));
    // both workers route to the new service (several connections: the primary hands them out in turn)
    await until('both workers serving the new service', async () => (await load(gw.url, loadKey, 8, 4, 'warm')).statuses[200] === 8, 10_000);
  });
  afterAll(async () => {
    if (gw) await gw.stop('SIGKILL').catch(() => null);
    await mock.close();
    await backend.drop();
  });

  it('runs a primary and two workers; the once-per-cluster work runs once', () => {
    expect(workerPids(gw.child.pid!)).toHaveLength(2);
    const out = gw.output();
    expect(out.match(/"msg":"worker listening"/g)).toHaveLength(2);
    expect(out).toMatch(/"worker":1,[^\n]*"msg":"worker listening"/);
    expect(out).toMatch(/"worker":2,[^\n]*"msg":"worker listening"/);
    // migrations and the first admin by the primary, the audit checkpoint by worker 1 only
    expect(out.match(/"msg":"applied migrations"/g)).toHaveLength(1);
    expect(out).toMatch(/"role":"primary"[^\n]*"msg":"applied migrations"/);
    expect(out.match(/"msg":"created the first admin from KEYWALLET_ADMIN_EMAIL"/g)).toHaveLength(1);
    expect(out.match(/"msg":"audit checkpoint"/g)).toHaveLength(1);
    expect(out).toMatch(/"worker":1,[^\n]*"msg":"audit checkpoint"/);
  });

  it('admits exactly the limit across both workers under concurrent load, and /metrics sums both', async () => {
    const before = await (await fetch(`${gw.url}/metrics`)).text();
    const { key } = await call(gw.url, '/api-keys', token, { name: 'limited', environment: 'live', scopes: ['proxy'], limits: { rpd: 40 } });
    const run = await load(gw.url, key, 120, 24, 'limited');
    expect(run.failed).toBe(0);
    expect(run.statuses).toEqual({ 200: 40, 429: 80 });
    answeredEverywhere.push(...run.answered);
    // both workers served: refusals are logged by the worker that answered them
    const refusals = gw.output().split('\n').filter((l) => l.includes('"status":429'));
    expect(refusals.some((l) => l.includes('"worker":1,'))).toBe(true);
    expect(refusals.some((l) => l.includes('"worker":2,'))).toBe(true);

    // whichever worker answers the scrape, the counts are both workers' together
    const after = await (await fetch(`${gw.url}/metrics`)).text();
    const gateway = (text: string, status: number) => sum(text, 'keywallet_gateway_requests_total', `status="${status}"`);
    expect(gateway(after, 200) - gateway(before, 200)).toBe(40);
    expect(gateway(after, 429) - gateway(before, 429)).toBe(80);
    expect(series(after, 'keywallet_rate_limited_total{scope="key",limit="rpd"}')).toBe(80);
    expect(series(after, 'keywallet_cluster_workers')).toBe(2);
    expect(after).toMatch(/^keywallet_event_loop_delay_seconds_count \d+/m);
  });

  it('replaces a killed worker while the other serves on, and the sums do not go down', async () => {
    const pids = workerPids(gw.child.pid!);
    const before = await (await fetch(`${gw.url}/metrics`)).text();
    const served = series(before, 'keywallet_gateway_requests_total{surface="proxy",service="echo",status="200"}');
    // load before, across and after the kill
    let killed = false;
    const run = await load(gw.url, loadKey, 600, 12, 'kill', (n) => {
      if (!killed && n >= 200) {
        killed = true;
        process.kill(pids[0], 'SIGKILL');
      }
    });
    expect(killed).toBe(true);
    answeredEverywhere.push(...run.answered);
    expect(run.answered.length).toBeGreaterThanOrEqual(550); // only requests in flight on the killed worker fail
    await until('the replacement worker', () => /"msg":"replacement worker listening"/.test(gw.output()));
    expect(gw.output()).toMatch(new RegExp(`"pid":${pids[0]},"code":null,"signal":"SIGKILL"[^\\n]*"msg":"worker exited unexpectedly: replacing it"`));
    const now = workerPids(gw.child.pid!);
    expect(now).toHaveLength(2);
    expect(now).not.toContain(pids[0]);
    expect(now).toContain(pids[1]);

    const after = await load(gw.url, loadKey, 100, 10, 'replaced');
    expect(after.statuses).toEqual({ 200: 100 });
    answeredEverywhere.push(...after.answered);
    const text = await (await fetch(`${gw.url}/metrics`)).text();
    expect(series(text, 'keywallet_cluster_workers')).toBe(2);
    expect(series(text, 'keywallet_cluster_worker_restarts_total{reason="SIGKILL"}')).toBe(1);
    // what the killed worker counted up to the last scrape stays in the sums
    expect(series(text, 'keywallet_gateway_requests_total{surface="proxy",service="echo",status="200"}')).toBeGreaterThanOrEqual(served + after.answered.length);
  });

  it('drains both workers on SIGTERM under load: every answered request has exactly one usage event', async () => {
    const workers = workerPids(gw.child.pid!);
    expect(workers).toHaveLength(2);
    let signalled = false;
    const run = await load(gw.url, loadKey, 3000, 40, 'drain', (n) => {
      if (!signalled && n >= 800) {
        signalled = true;
        gw.child.kill('SIGTERM');
      }
    });
    expect(signalled).toBe(true);
    expect(await gw.exited).toBe(0);
    expect(run.answered.length).toBeGreaterThanOrEqual(800);
    expect(run.answered.length + run.failed + (run.statuses[429] ?? 0)).toBe(3000);
    expect(gw.output()).toMatch(/"role":"primary"[^\n]*"msg":"shutdown complete"/);
    expect(gw.output().match(/"worker":\d,[^\n]*"msg":"shutdown complete"/g)).toHaveLength(2);
    const alive = (pid: number) => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    };
    expect(workers.filter(alive)).toEqual([]); // the primary waited for (and reaped) both

    answeredEverywhere.push(...run.answered);
    const client = new pg.Client({ connectionString: backend.databaseUrl });
    await client.connect();
    try {
      const { rows } = await client.query('select request_id, count(*)::int as n from usage_events where request_id = any($1) group by request_id', [answeredEverywhere]);
      const recorded = new Set(rows.map((r) => r.request_id));
      expect(answeredEverywhere.filter((id) => !recorded.has(id))).toEqual([]);
      expect(rows.filter((r) => r.n !== 1)).toEqual([]);
    } finally {
      await client.end();
    }
  });

  it('exits 78 when the workers cannot listen (the port taken), leaving no process behind', async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as net.AddressInfo).port;
    try {
      const res = await runGatewayToExit({
        DATABASE_URL: backend.databaseUrl!,
        REDIS_URL: backend.redisUrl!,
        WORKERS: '2',
        PORT: String(port),
        HOST: '127.0.0.1',
        KEYWALLET_MASTER_KEYS: '1:' + Buffer.alloc(32, 5).toString('base64'),
        JWT_SECRET: 'workers-test-jwt-secret-0123456789abcdef',
      });
      expect(res.code).toBe(78);
      expect(res.output).toContain(`port ${port} is already in use`);
      expect(res.output).toMatch(/keywallet: cannot start: worker \d exited with code 78 while starting/);
    } finally {
      blocker.close();
    }
  });
});
