import { TEST_BACKEND } from '../helpers/backend';
import { startTestGateway, TestGateway } from '../helpers/gateway';
import { eventually } from '../helpers/keys';
import { addEntry, createService, developerKey, sleep, uniqueSlug } from '../helpers/routing';
import { startRestMock, MockUpstream } from '../mocks';

describe(`routing across wallet entries (${TEST_BACKEND})`, () => {
  let gw: TestGateway;
  let mock: MockUpstream;
  let admin: string;
  let key: string;

  /** A fresh service on the mock, so each test has entries (and cooldowns) of its own. */
  async function freshService(extra: { timeoutMs?: number } = {}): Promise<string> {
    const slug = uniqueSlug('route');
    await createService(gw, admin, { slug, baseUrl: mock.url, ...extra });
    return slug;
  }
  const call = (slug: string, path = '/v1/things') => gw.request(`/proxy/${slug}${path}`, { headers: { authorization: `Bearer ${key}` } });

  beforeAll(async () => {
    gw = await startTestGateway();
    mock = await startRestMock();
    admin = (await gw.user('admin')).token;
    key = await developerKey(gw);
  }, 60_000);
  afterAll(async () => {
    await gw.close();
    await mock.close();
  });
  beforeEach(() => mock.reset());

  it('sends the first 3 requests to the free entry (3 a day), the rest to the paid one', async () => {
    const slug = await freshService();
    const paid = await addEntry(gw, admin, { service: slug, tier: 'paid', priority: 1 });
    const free = await addEntry(gw, admin, { service: slug, tier: 'free', priority: 50, quota: { limit: 3, unit: 'requests', period: 'day' } });
    const served: string[] = [];
    for (let i = 0; i < 6; i++) {
      const res = await call(slug);
      expect(res.status).toBe(200);
      expect(res.headers.get('x-keywallet-attempts')).toBe('1');
      expect(res.headers.get('x-keywallet-route')).toBeTruthy();
      served.push(res.headers.get('x-keywallet-provider-key')!);
    }
    expect(served).toEqual([free.id, free.id, free.id, paid.id, paid.id, paid.id]);
    expect(mock.requests.map((r) => r.credential)).toEqual([free.secret, free.secret, free.secret, paid.secret, paid.secret, paid.secret]);
    const shown = await gw.request(`/wallet/keys/${free.id}`, { token: admin });
    expect(shown.body.quota).toMatchObject({ limit: 3, unit: 'requests', period: 'day', used: 3 });
  });

  it('on a 429 the same request succeeds on the other entry, and traffic returns after the cooldown', async () => {
    const slug = await freshService();
    const first = await addEntry(gw, admin, { service: slug, priority: 1 });
    const second = await addEntry(gw, admin, { service: slug, priority: 2 });
    mock.fail({ kind: 'status', status: 429, retryAfter: 1 }, { credential: first.secret, times: 1 });

    const res = await call(slug);
    expect(res.status).toBe(200);
    expect(res.headers.get('x-keywallet-provider-key')).toBe(second.id);
    expect(res.headers.get('x-keywallet-attempts')).toBe('2');
    expect(res.headers.get('x-keywallet-route')).toContain(`${first.id.slice(0, 8)}:rate_limited`);
    expect(mock.requests.map((r) => r.credential)).toEqual([first.secret, second.secret]);

    // cooling down: the first entry is not even tried
    const during = await call(slug);
    expect(during.headers.get('x-keywallet-provider-key')).toBe(second.id);
    expect(during.headers.get('x-keywallet-attempts')).toBe('1');

    await sleep(1100);
    const after = await call(slug);
    expect(after.headers.get('x-keywallet-provider-key')).toBe(first.id);
  });

  it('a 401 goes back to the client; the credential check confirming it marks the entry invalid (audited, alert logged)', async () => {
    const slug = uniqueSlug('route');
    await createService(gw, admin, { slug, baseUrl: mock.url, credentialCheck: { path: '/v1/me' } });
    const dead = await addEntry(gw, admin, { service: slug, priority: 1 });
    const alive = await addEntry(gw, admin, { service: slug, priority: 2 });
    mock.fail({ kind: 'status', status: 401 }, { credential: dead.secret });

    const res = await call(slug);
    expect(res.status).toBe(401);
    expect(res.headers.get('x-keywallet-provider-key')).toBe(dead.id);
    const shown = await eventually(async () => {
      const body = (await gw.request(`/wallet/keys/${dead.id}`, { token: admin })).body;
      expect(body.status).toBe('invalid');
      return body;
    }, 5000);
    expect(shown.statusReason).toBe('credential check 401');
    const audit = await gw.deps.db('audit_log').where({ action: 'wallet.mark_invalid', target_id: dead.id });
    expect(audit).toHaveLength(1);
    const alert = gw.logs.find((l) => l.includes('"alert":"wallet_entry_invalid"') && l.includes(dead.id) && l.includes('"level":50'));
    expect(alert).toBeDefined();
    expect(alert).not.toContain(dead.secret);

    // never tried again
    mock.reset();
    const next = await call(slug);
    expect(next.headers.get('x-keywallet-provider-key')).toBe(alive.id);
    expect(mock.requests.map((r) => r.credential)).toEqual([alive.secret]);
  });

  it('all entries failing → 502 naming the attempts, never the secrets', async () => {
    const slug = await freshService();
    const a = await addEntry(gw, admin, { service: slug, priority: 1 });
    const b = await addEntry(gw, admin, { service: slug, priority: 2 });
    mock.fail({ kind: 'status', status: 503 });
    const res = await call(slug);
    expect(res.status).toBe(502);
    expect(res.body.error).toMatchObject({ code: 'upstream_failed', type: 'upstream_error' });
    expect(res.body.error.message).toContain(a.id);
    expect(res.body.error.message).toContain(b.id);
    expect(res.body.error.message).toContain('server_error (503)');
    expect(res.text).not.toContain(a.secret);
    expect(res.text).not.toContain(b.secret);
    expect(res.headers.get('x-keywallet-attempts')).toBe('2');
    expect(res.headers.get('x-keywallet-route')).toBe(`${a.id.slice(0, 8)}:server_error>${b.id.slice(0, 8)}:server_error; 2 candidates`);
    expect(mock.requests).toHaveLength(2);
  });

  it('attempts are bounded (3 by default)', async () => {
    const slug = await freshService();
    for (let i = 0; i < 5; i++) await addEntry(gw, admin, { service: slug, priority: i });
    mock.fail({ kind: 'status', status: 500 });
    const res = await call(slug);
    expect(res.status).toBe(502);
    expect(mock.requests).toHaveLength(3);
  });

  it('no usable entry → 503 (none at all, or all cooling down, with Retry-After)', async () => {
    const empty = await freshService();
    const none = await call(empty);
    expect(none.status).toBe(503);
    expect(none.body.error.code).toBe('no_provider_key');
    expect(mock.requests).toHaveLength(0);

    const slug = await freshService();
    const only = await addEntry(gw, admin, { service: slug });
    mock.fail({ kind: 'status', status: 429, retryAfter: 30 }, { credential: only.secret, times: 1 });
    expect((await call(slug)).status).toBe(502);
    const cooling = await call(slug);
    expect(cooling.status).toBe(503);
    expect(cooling.body.error.message).toContain('cooling_down');
    expect(cooling.headers.get('x-keywallet-route')).toBe('0 candidates, 1 skipped');
    expect(Number(cooling.headers.get('retry-after'))).toBeGreaterThan(20);
  });

  it('a disabled entry is skipped; a connection dropped by one entry falls back to the next', async () => {
    const slug = await freshService();
    const disabled = await addEntry(gw, admin, { service: slug, priority: 0 });
    expect((await gw.request(`/wallet/keys/${disabled.id}`, { method: 'PATCH', token: admin, body: { status: 'disabled' } })).status).toBe(200);
    const flaky = await addEntry(gw, admin, { service: slug, priority: 1 });
    const steady = await addEntry(gw, admin, { service: slug, priority: 2 });
    mock.fail({ kind: 'drop' }, { credential: flaky.secret, times: 1 });
    const res = await call(slug);
    expect(res.status).toBe(200);
    expect(res.headers.get('x-keywallet-provider-key')).toBe(steady.id);
    expect(res.headers.get('x-keywallet-route')).toContain('connection_error');
    expect(mock.requests.map((r) => r.credential)).not.toContain(disabled.secret);
  });

  it('a slow entry times out at the service timeout and the next one answers; all slow → 504', async () => {
    const slug = await freshService({ timeoutMs: 1000 });
    const slow = await addEntry(gw, admin, { service: slug, priority: 1 });
    const fast = await addEntry(gw, admin, { service: slug, priority: 2 });
    mock.fail({ kind: 'delay', ms: 3000 }, { credential: slow.secret, times: 1 });
    const res = await call(slug);
    expect(res.status).toBe(200);
    expect(res.headers.get('x-keywallet-provider-key')).toBe(fast.id);
    expect(res.headers.get('x-keywallet-route')).toContain('timeout');

    const other = await freshService({ timeoutMs: 300 });
    await addEntry(gw, admin, { service: other });
    mock.fail({ kind: 'delay', ms: 2000 });
    const timedOut = await call(other);
    expect(timedOut.status).toBe(504);
    expect(timedOut.body.error.code).toBe('upstream_timeout');
  });

  it('upstream rate-limit headers steer traffic away before a 429', async () => {
    const slug = await freshService();
    const first = await addEntry(gw, admin, { service: slug, priority: 1 });
    const second = await addEntry(gw, admin, { service: slug, priority: 2 });
    mock.fail(
      { kind: 'headers', headers: { 'x-ratelimit-remaining-requests': '0', 'x-ratelimit-reset-requests': '30s' } },
      { credential: first.secret, times: 1 },
    );
    expect((await call(slug)).headers.get('x-keywallet-provider-key')).toBe(first.id);
    const next = await call(slug);
    expect(next.headers.get('x-keywallet-provider-key')).toBe(second.id);
    expect(next.headers.get('x-keywallet-attempts')).toBe('1');
  });

  it('an upstream 4xx other than 401/403/429 is the answer: passed through, no fallback', async () => {
    const slug = await freshService();
    const a = await addEntry(gw, admin, { service: slug, priority: 1 });
    await addEntry(gw, admin, { service: slug, priority: 2 });
    mock.fail({ kind: 'status', status: 404, body: { error: 'no such thing' } }, { times: 1 });
    const res = await call(slug);
    expect(res.status).toBe(404);
    expect(res.body).toEqual({ error: 'no such thing' });
    expect(res.headers.get('x-keywallet-provider-key')).toBe(a.id);
    expect(mock.requests).toHaveLength(1);
    const shown = await gw.request(`/wallet/keys/${a.id}`, { token: admin });
    expect(shown.body.status).toBe('active');
  });

  it('a kw_test_ key reaches only test entries', async () => {
    const slug = await freshService();
    const live = await addEntry(gw, admin, { service: slug, environment: 'live' });
    const testKey = await developerKey(gw, { environment: 'test' });
    const refused = await gw.request(`/proxy/${slug}/x`, { headers: { authorization: `Bearer ${testKey}` } });
    expect(refused.status).toBe(503);
    const test = await addEntry(gw, admin, { service: slug, environment: 'test' });
    const ok = await eventually(async () => {
      const res = await gw.request(`/proxy/${slug}/x`, { headers: { authorization: `Bearer ${testKey}` } });
      expect(res.status).toBe(200);
      return res;
    });
    expect(ok.headers.get('x-keywallet-provider-key')).toBe(test.id);
    expect((await call(slug, '/x')).headers.get('x-keywallet-provider-key')).toBe(live.id);
  });

  it('GET /routing/explain gives the same order as a dry run, with the reasons', async () => {
    const slug = await freshService();
    const paid = await addEntry(gw, admin, { service: slug, tier: 'paid', priority: 1, label: 'paid one' });
    const free = await addEntry(gw, admin, { service: slug, tier: 'free', priority: 9, quota: { limit: 1, unit: 'requests', period: 'day' } });
    const off = await addEntry(gw, admin, { service: slug, priority: 0 });
    await gw.request(`/wallet/keys/${off.id}`, { method: 'PATCH', token: admin, body: { status: 'disabled' } });

    const before = await gw.request(`/routing/explain?service=${slug}`, { token: admin });
    expect(before.status).toBe(200);
    expect(before.body.candidates.map((c: { id: string }) => c.id)).toEqual([free.id, paid.id]);
    expect(before.body.candidates[0]).toMatchObject({ tier: 'free', priority: 9, quota: { limit: 1, used: 0 } });
    expect(before.body.candidates[0].why).toContain('free tier');
    expect(before.body.candidates[1]).toMatchObject({ label: 'paid one', tier: 'paid' });
    expect(before.body.skipped).toEqual([{ id: off.id, label: expect.any(String), reason: 'disabled' }]);

    expect((await call(slug)).headers.get('x-keywallet-provider-key')).toBe(free.id);
    const after = await gw.request(`/routing/explain?service=${slug}`, { token: admin });
    expect(after.body.candidates.map((c: { id: string }) => c.id)).toEqual([paid.id]);
    expect(after.body.skipped).toEqual(expect.arrayContaining([expect.objectContaining({ id: free.id, reason: 'quota_exhausted' })]));
    // a dry run consumes nothing
    expect((await call(slug)).headers.get('x-keywallet-provider-key')).toBe(paid.id);
  });

  it('GET /routing/explain is for admins only and validates its query', async () => {
    const developer = (await gw.user('developer')).token;
    expect((await gw.request('/routing/explain?service=stripe', { token: developer })).status).toBe(403);
    expect((await gw.request('/routing/explain?service=stripe')).status).toBe(401);
    expect((await gw.request('/routing/explain', { token: admin })).status).toBe(400);
    expect((await gw.request('/routing/explain?service=nope-nope', { token: admin })).status).toBe(404);
    const builtin = await gw.request('/routing/explain?service=stripe&environment=test', { token: admin });
    expect(builtin.status).toBe(200);
    expect(builtin.body).toMatchObject({ service: 'stripe', environment: 'test', candidates: [] });
  });
});
