import { startTestGateway, TestGateway } from '../helpers/gateway';
import { TEST_BACKEND } from '../helpers/backend';
import { fakeSecret, randomBase62 } from '../helpers/fake-secrets';
import { GatewayNode, startSecondNode } from '../helpers/second-node';

describe(`services registry (${TEST_BACKEND})`, () => {
  let gw: TestGateway;
  let admin: string;
  let developer: string;
  const post = (body: Record<string, unknown>) => gw.request('/services', { token: admin, body });
  const patch = (slug: string, body: Record<string, unknown>) => gw.request(`/services/${slug}`, { method: 'PATCH', token: admin, body });
  const acme = (over: Record<string, unknown> = {}) => ({
    slug: 'acme',
    name: 'Acme API',
    kind: 'rest',
    baseUrl: 'http://127.0.0.1:9/v1/',
    auth: { type: 'header', name: 'X-Acme-Key' },
    keyPattern: '^acme_[a-z0-9]{16}$',
    costPerCall: 0.002,
    timeoutMs: 5000,
    ...over,
  });

  beforeAll(async () => {
    gw = await startTestGateway();
    admin = (await gw.user('admin')).token;
    developer = (await gw.user('developer')).token;
  }, 120_000); // PGlite boots slowly on a busy machine
  afterAll(() => gw.close());

  it('lists the built-ins, presented with credits for money', async () => {
    const res = await gw.request('/services', { token: developer });
    expect(res.status).toBe(200);
    expect(res.body.data.map((s: { slug: string }) => s.slug)).toEqual(['anthropic', 'deepseek', 'gemini', 'googlemaps', 'groq', 'mistral', 'openai', 'openrouter', 'openweather', 'stripe', 'together', 'xai']);
    const weather = res.body.data.find((s: { slug: string }) => s.slug === 'openweather');
    expect(weather).toMatchObject({ kind: 'rest', baseUrl: 'https://api.openweathermap.org', auth: { type: 'query', name: 'appid' }, costPerCall: 0.0001, builtin: true, enabled: true, allowPrivate: false });
    expect((await gw.request('/services/anthropic', { token: developer })).body.auth).toEqual({ type: 'header', name: 'x-api-key' });
    expect((await gw.request('/services/nope', { token: developer })).status).toBe(404);
  });

  it('refuses a private, loopback or link-local base URL unless allowPrivate is given', async () => {
    for (const baseUrl of ['http://127.0.0.1:9', 'http://10.1.2.3', 'http://169.254.169.254/latest', 'http://[::1]:8080', 'http://localhost:9', 'http://192.168.0.10']) {
      const res = await post(acme({ slug: 'private-probe', baseUrl }));
      expect([baseUrl, res.status]).toEqual([baseUrl, 400]);
      expect(res.body.error.message).toMatch(/private or reserved address.*allowPrivate: true/);
    }
    expect((await gw.request('/services/private-probe', { token: admin })).status).toBe(404);

    const created = await post(acme({ allowPrivate: true }));
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ slug: 'acme', baseUrl: 'http://127.0.0.1:9/v1', costPerCall: 0.002, allowPrivate: true, builtin: false, enabled: true });
    expect(gw.deps.services.get('acme')?.costPerCallMicros).toBe(2000);
    const publicIp = await post({ slug: 'public-ip', baseUrl: 'https://93.184.216.34', auth: { type: 'bearer' } });
    expect(publicIp.status).toBe(201);
    expect(publicIp.body).toMatchObject({ name: 'public-ip', kind: 'rest', keyPattern: null, timeoutMs: null });

    const [audit] = await gw.deps.db('audit_log').where({ action: 'service.create', target_id: 'acme' });
    expect(audit.after).toMatchObject({ slug: 'acme', allowPrivate: true });
  });

  it('validates slug, base URL, auth and key pattern', async () => {
    const bad: Record<string, unknown>[] = [
      acme({ slug: 'A' }),
      acme({ slug: 'has_underscore' }),
      acme({ baseUrl: 'ftp://example.com' }),
      acme({ baseUrl: 'https://user:pw@example.com' }),
      acme({ baseUrl: 'https://example.com/?x=1' }),
      acme({ baseUrl: 'https://example.com/#frag' }),
      acme({ auth: { type: 'header' } }),
      acme({ auth: { type: 'query' } }),
      acme({ auth: { type: 'header', name: 'Host' } }),
      acme({ auth: { type: 'bearer', name: 'x' } }),
      acme({ keyPattern: '^(unclosed' }),
      acme({ kind: 'grpc' }),
      acme({ costPerCall: -1 }),
    ];
    for (const body of bad) {
      const res = await post({ ...body, allowPrivate: true });
      expect([JSON.stringify(body), res.status]).toEqual([JSON.stringify(body), 400]);
    }
    expect((await post(acme({ allowPrivate: true }))).status).toBe(409);
  });

  it('applies the same rule when a built-in is pointed elsewhere, and the change is visible at once', async () => {
    const refused = await patch('openai', { baseUrl: 'http://127.0.0.1:4010' });
    expect(refused.status).toBe(400);
    expect(gw.deps.services.get('openai')?.baseUrl).toBe('https://api.openai.com');
    const moved = await patch('openai', { baseUrl: 'http://127.0.0.1:4010', allowPrivate: true, timeoutMs: 1500 });
    expect(moved.status).toBe(200);
    expect(moved.body).toMatchObject({ baseUrl: 'http://127.0.0.1:4010', allowPrivate: true, timeoutMs: 1500, builtin: true });
    expect(gw.deps.services.get('openai')).toMatchObject({ baseUrl: 'http://127.0.0.1:4010', timeoutMs: 1500 });
    expect((await patch('openai', { allowPrivate: false })).status).toBe(400); // would leave a private URL without consent
    const [audit] = await gw.deps.db('audit_log').where({ action: 'service.update', target_id: 'openai' });
    expect(audit.before.baseUrl).toBe('https://api.openai.com');
    expect(audit.after.baseUrl).toBe('http://127.0.0.1:4010');
    expect((await patch('openai', { slug: 'x' })).status).toBe(400);
    expect((await patch('nope', { name: 'x' })).status).toBe(404);
  });

  it('detects a custom service from its key pattern', async () => {
    const res = await gw.request('/wallet/keys', { token: admin, body: { secret: 'acme_0123456789abcdef', label: 'acme' } });
    expect(res.status).toBe(201);
    expect(res.body.service).toBe('acme');
    expect(gw.deps.services.detect(fakeSecret.anthropic())).toEqual({ ok: true, service: 'anthropic' });
  });

  it('refuses to delete a service that wallet entries or aliases use, or a built-in', async () => {
    const inUse = await gw.request('/services/acme', { method: 'DELETE', token: admin });
    expect(inUse.status).toBe(409);
    expect(inUse.body.error.details).toEqual({ walletEntries: 1 });
    expect((await gw.request('/services/openai', { method: 'DELETE', token: admin })).status).toBe(409);

    await gw.request('/models/uses-public-ip', { method: 'PUT', token: admin, body: { targets: [{ service: 'public-ip', model: 'm1' }] } });
    const aliased = await gw.request('/services/public-ip', { method: 'DELETE', token: admin });
    expect(aliased.status).toBe(409);
    expect(aliased.body.error.details).toEqual({ aliases: ['uses-public-ip'] });

    const [entry] = await gw.deps.wallet.list({ service: 'acme' });
    expect((await gw.request(`/wallet/keys/${entry.id}`, { method: 'DELETE', token: admin })).status).toBe(204);
    expect((await gw.request('/services/acme', { method: 'DELETE', token: admin })).status).toBe(204);
    expect((await gw.request('/services/acme', { token: admin })).status).toBe(404);
    expect(gw.deps.services.get('acme')).toBeUndefined();
    const [audit] = await gw.deps.db('audit_log').where({ action: 'service.delete', target_id: 'acme' });
    expect(audit.before).toMatchObject({ slug: 'acme' });
  });

  it('lets developers read but not change services', async () => {
    expect((await gw.request('/services', { token: developer, body: acme({ slug: 'dev-svc', allowPrivate: true }) })).status).toBe(403);
    expect((await gw.request('/services/openai', { method: 'PATCH', token: developer, body: { enabled: false } })).status).toBe(403);
    expect((await gw.request('/services/public-ip', { method: 'DELETE', token: developer })).status).toBe(403);
    expect((await gw.request('/services')).status).toBe(401);
  });

  it('documents the wallet, services and models routes in the OpenAPI document', async () => {
    const doc = await gw.request('/openapi.json');
    expect(Object.keys(doc.body.paths)).toEqual(
      expect.arrayContaining(['/wallet/keys', '/wallet/keys/{id}', '/wallet/keys/{id}/secret', '/wallet/import', '/services', '/services/{slug}', '/models', '/models/{alias}', '/models/prices', '/models/prices/{model}']),
    );
    expect(doc.body.paths['/wallet/keys'].post.requestBody.content['application/json'].schema.required).toEqual(expect.arrayContaining(['secret', 'label']));
  });

  it('tells another node about a change within a second', async () => {
    const node2: GatewayNode = await startSecondNode(gw, {});
    try {
      expect(node2.deps.services.get('beta')).toBeUndefined();
      expect((await post({ slug: 'beta', baseUrl: 'http://127.0.0.1:9', auth: { type: 'bearer' }, allowPrivate: true })).status).toBe(201);
      const deadline = Date.now() + 1000;
      while (!node2.deps.services.get('beta') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      expect(node2.deps.services.get('beta')?.baseUrl).toBe('http://127.0.0.1:9');
    } finally {
      await node2.close();
    }
  });

  it('serves a service another node created before its change message arrives, and holds back reloads for names that stay unknown', async () => {
    // a row written by another node whose pub/sub message this node never heard
    const insert = (slug: string) =>
      gw.deps.db('services').insert({ slug, name: slug, kind: 'rest', base_url: 'http://127.0.0.1:9', auth: JSON.stringify({ type: 'bearer' }), cost_per_call_micros: 0, allow_private: true, builtin: false, enabled: true });
    await insert('gamma');
    expect(gw.deps.services.get('gamma')).toBeUndefined();
    expect((await gw.deps.services.getOrReload('gamma'))?.baseUrl).toBe('http://127.0.0.1:9');

    // a wallet entry for it is accepted at once (the create reloads on a miss)
    await insert('delta');
    const created = await gw.request('/wallet/keys', { token: admin, body: { service: 'delta', secret: `delta_${randomBase62(24)}`, label: 'delta key' } });
    expect(created.status).toBe(201);

    // a name a reload did not find: the next second of misses does not read the table again
    expect(await gw.deps.services.getOrReload('no-such-service')).toBeUndefined();
    await insert('epsilon');
    expect(await gw.deps.services.getOrReload('epsilon')).toBeUndefined();
    await new Promise((r) => setTimeout(r, 1100));
    expect((await gw.deps.services.getOrReload('epsilon'))?.slug).toBe('epsilon');
  });

  it('concurrent misses for an unknown service share one reload of the table', async () => {
    await new Promise((r) => setTimeout(r, 1100)); // past the hold of the misses above
    const reload = jest.spyOn(gw.deps.services, 'reload');
    try {
      const found = await Promise.all(Array.from({ length: 5 }, () => gw.deps.services.getOrReload('made-up-service')));
      expect(found).toEqual([undefined, undefined, undefined, undefined, undefined]);
      expect(reload).toHaveBeenCalledTimes(1);
    } finally {
      reload.mockRestore();
    }
  });
});
