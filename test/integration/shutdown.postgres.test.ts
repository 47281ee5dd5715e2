import pg from 'pg';
import { spawnGateway } from '../helpers/process';
import { createSharedBackend, SharedBackend } from '../helpers/backend';
import { startRestMock, MockUpstream } from '../mocks';

jest.setTimeout(180_000);

const ADMIN = { email: 'ops@example.com', password: 'a-long-enough-password' };

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

/**
 * A real gateway process under load receives SIGTERM: it stops accepting, finishes what is in flight and
 * flushes its usage buffer, so every request that got an answer has exactly one usage event.
 */
describe('graceful shutdown under load (postgres)', () => {
  let backend: SharedBackend;
  let mock: MockUpstream;
  beforeAll(async () => {
    backend = await createSharedBackend();
    mock = await startRestMock();
  });
  afterAll(async () => {
    await mock.close();
    await backend.drop();
  });

  it('keeps a usage event for every answered request', async () => {
    const gw = await spawnGateway({
      DATABASE_URL: backend.databaseUrl!,
      REDIS_URL: backend.redisUrl!,
      KEYWALLET_MASTER_KEYS: '1:' + Buffer.alloc(32, 9).toString('base64'),
      JWT_SECRET: 'shutdown-test-jwt-secret-0123456789abcdef',
      KEYWALLET_ADMIN_EMAIL: ADMIN.email,
      KEYWALLET_ADMIN_PASSWORD: ADMIN.password,
    });
    const { token } = await call(gw.url, '/auth/login', '', ADMIN);
    await call(gw.url, '/services', token, { slug: 'echo', name: 'Echo', kind: 'rest', baseUrl: mock.url, auth: { type: 'bearer' }, allowPrivate: true });
    await call(gw.url, '/wallet/keys', token, { secret: 'echo-secret-value-0001', service: 'echo', label: 'echo', tier: 'paid', priority: 1 });
    const { key } = await call(gw.url, '/api-keys', token, {
      name: 'load',
      environment: 'live',
      scopes: ['proxy'],
      limits: { rpm: 100000, rph: 100000, rpd: 100000 },
    });

    const answered: string[] = [];
    let refused = 0;
    let sent = 0;
    const total = 3000;
    let signalled = false;
    const worker = async () => {
      while (sent < total) {
        sent++;
        try {
          const res = await fetch(`${gw.url}/proxy/echo/ping`, { headers: { authorization: `Bearer ${key}` } });
          await res.arrayBuffer();
          answered.push(res.headers.get('x-request-id')!);
          if (!signalled && answered.length >= 1000) {
            signalled = true;
            gw.child.kill('SIGTERM');
          }
        } catch {
          refused++; // the listener is closed: no answer, so no event is owed
        }
      }
    };
    await Promise.all(Array.from({ length: 40 }, worker));
    expect(await gw.exited).toBe(0);
    expect(signalled).toBe(true);
    expect(answered.length).toBeGreaterThanOrEqual(1000);

    const client = new pg.Client({ connectionString: backend.databaseUrl });
    await client.connect();
    try {
      const { rows } = await client.query('select request_id from usage_events where request_id = any($1)', [answered]);
      const recorded = new Set(rows.map((r) => r.request_id));
      const missing = answered.filter((id) => !recorded.has(id));
      expect(missing).toEqual([]);
      expect(rows.length).toBe(answered.length); // exactly one each
    } finally {
      await client.end();
    }
    expect(answered.length + refused).toBe(total);
  });
});
