import pg from 'pg';

/** One request of a load run: its client-chosen request id, the status it got (null: no answer) and how long it took. */
export interface Shot {
  id: string;
  status: number | null;
  ms: number;
  at: number;
}

export interface LoadRun {
  shots: Shot[];
  /** stops issuing new requests; `done` resolves once those in flight are over */
  stop(): void;
  done: Promise<void>;
}

export interface LoadOptions {
  /** the gateway's URL (a function: a test may point the load at a restarted node) */
  url: () => string;
  key: string;
  path: string;
  ratePerSec: number;
  concurrency: number;
  maxRequests: number;
  idPrefix: string;
}

/**
 * A bounded loop of concurrent requests to 127.0.0.1, paced to `ratePerSec`, each with an x-request-id of its own
 * (the gateway echoes it and records it on the usage event).
 */
export function startLoad(o: LoadOptions): LoadRun {
  const shots: Shot[] = [];
  let next = 0;
  let stopped = false;
  const t0 = performance.now();
  const worker = async () => {
    while (!stopped && next < o.maxRequests) {
      const i = next++;
      const wait = t0 + (i * 1000) / o.ratePerSec - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      if (stopped) return;
      const id = `${o.idPrefix}-${i}`;
      const started = performance.now();
      try {
        const res = await fetch(`${o.url()}${o.path}`, {
          headers: { authorization: `Bearer ${o.key}`, 'x-request-id': id },
          signal: AbortSignal.timeout(30_000),
        });
        await res.arrayBuffer();
        shots.push({ id, status: res.status, ms: performance.now() - started, at: started });
      } catch {
        shots.push({ id, status: null, ms: performance.now() - started, at: started });
      }
    }
  };
  const done = Promise.all(Array.from({ length: o.concurrency }, worker)).then(() => {});
  return { shots, stop: () => void (stopped = true), done };
}

async function adminCall(url: string, path: string, token: string, body?: unknown): Promise<any> {
  const res = await fetch(url + path, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = (await res.json()) as any;
  if (res.status >= 300) throw new Error(`${path}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

export const FAULT_ADMIN = { email: 'fault@example.com', password: 'a-long-enough-password' };

export function faultEnv(extra: Record<string, string>): Record<string, string> {
  return {
    KEYWALLET_MASTER_KEYS: '1:' + Buffer.alloc(32, 7).toString('base64'),
    JWT_SECRET: 'fault-suite-jwt-secret-0123456789abcdef',
    KEYWALLET_ADMIN_EMAIL: FAULT_ADMIN.email,
    KEYWALLET_ADMIN_PASSWORD: FAULT_ADMIN.password,
    LOG_LEVEL: 'info', // spawnGateway waits for the 'keywallet listening' line
    ...extra,
  };
}

/**
 * An echo service on the mock upstream, one wallet entry (with a quota when asked) and gateway keys: `key` limited by
 * rpm only, `creditKey` with a monthly credit budget too (refused with 503 while Redis is unreachable).
 */
export async function setUpTenant(url: string, upstream: string, opts: { quota?: boolean } = {}): Promise<{ key: string; creditKey: string }> {
  const { token } = await adminCall(url, '/auth/login', '', FAULT_ADMIN);
  await adminCall(url, '/services', token, { slug: 'echo', name: 'Echo', kind: 'rest', baseUrl: upstream, auth: { type: 'bearer' }, allowPrivate: true });
  await adminCall(url, '/wallet/keys', token, {
    secret: 'echo-secret-value-0001',
    service: 'echo',
    label: 'echo',
    tier: 'paid',
    priority: 1,
    ...(opts.quota ? { quota: { limit: 10_000_000, unit: 'requests', period: 'day' } } : {}),
  });
  // a plan without limits or credits of its own: what limits a key is then the key's own settings
  await adminCall(url, '/plans', token, { id: 'unmetered', name: 'Unmetered', rpm: null, rph: null, rpd: null, tpm: null, monthlyCredits: null });
  const user = await adminCall(url, '/users', token, { email: 'load@example.com', password: 'a-long-enough-password', role: 'developer', plan: 'unmetered' });
  const userId = user.id ?? user.user?.id;
  const limits = { rpm: 1_000_000 };
  const { key } = await adminCall(url, '/api-keys', token, { name: 'load', environment: 'live', scopes: ['proxy'], limits, userId });
  const { key: creditKey } = await adminCall(url, '/api-keys', token, { name: 'credits', environment: 'live', scopes: ['proxy'], limits, monthlyCredits: 1000, userId });
  return { key, creditKey };
}

/** Which answered requests have no usage event, how many have more than one, and whether the rollups agree. */
export async function ledgerAudit(databaseUrl: string, answered: string[]): Promise<{ missing: string[]; duplicated: number; rollupRequests: number; events: number }> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query('select request_id, count(*)::int as n from usage_events where request_id = any($1) group by request_id', [answered]);
    const seen = new Set(rows.map((r) => r.request_id as string));
    const total = await client.query('select count(*)::int as n from usage_events');
    const rollup = await client.query('select coalesce(sum(requests), 0)::int as n from usage_daily');
    return {
      missing: answered.filter((id) => !seen.has(id)),
      duplicated: rows.filter((r) => r.n > 1).length,
      rollupRequests: rollup.rows[0].n,
      events: total.rows[0].n,
    };
  } finally {
    await client.end();
  }
}

/** Polls until every answered request has its event (or the time is up); returns the audit and how long it took. */
export async function waitForLedger(databaseUrl: string, answered: string[], timeoutMs: number) {
  const started = performance.now();
  for (;;) {
    let audit: Awaited<ReturnType<typeof ledgerAudit>> | null = null;
    try {
      audit = await ledgerAudit(databaseUrl, answered);
    } catch {
      // the database is still starting
    }
    if (audit && (audit.missing.length === 0 || performance.now() - started > timeoutMs)) return { audit, ms: performance.now() - started };
    if (!audit && performance.now() - started > timeoutMs) throw new Error('database unreachable');
    await new Promise((r) => setTimeout(r, 200));
  }
}
