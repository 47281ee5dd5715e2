import { startTestGateway, TestGateway } from '../helpers/gateway';
import { TEST_BACKEND } from '../helpers/backend';

describe(`foundation (${TEST_BACKEND})`, () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway();
  });
  afterAll(() => gw.close());

  it('answers /health and /ready naming each part', async () => {
    expect((await gw.request('/health')).body.status).toBe('ok');
    const ready = await gw.request('/ready');
    expect(ready.status).toBe(200);
    expect(ready.body.checks.database).toBe('ok');
    expect(Object.values(ready.body.checks)).toEqual(['ok', 'ok']);
  });

  it('echoes a sane x-request-id and generates one otherwise', async () => {
    const echoed = await gw.request('/health', { headers: { 'x-request-id': 'abc-123' } });
    expect(echoed.headers.get('x-request-id')).toBe('abc-123');
    const generated = await gw.request('/health', { headers: { 'x-request-id': 'bad id with spaces' } });
    expect(generated.headers.get('x-request-id')).toMatch(/^req_/);
  });

  it('dispatches by path segment with the same 405, OPTIONS and case-insensitive matching as every router', async () => {
    const wrongMethod = await gw.request('/v1/chat/completions', { method: 'DELETE' });
    expect([wrongMethod.status, wrongMethod.headers.get('allow')]).toEqual([405, 'POST']);
    const options = await gw.request('/v1/chat/completions', { method: 'OPTIONS' });
    expect([options.status, options.headers.get('allow')]).toEqual([200, 'POST']);
    const users = await gw.request('/users', { method: 'PUT' });
    expect([users.status, users.headers.get('allow')]).toEqual([405, 'HEAD, GET, POST']);
    expect((await gw.request('/Users')).body.error.code).toBe('unauthorized');
    expect((await gw.request('/V1/models')).body.error.code).toBe('invalid_api_key');
  });

  it("sends helmet's security headers on every response", async () => {
    for (const path of ['/health', '/no-such-thing', '/v1/models']) {
      const h = (await gw.request(path)).headers;
      expect(h.get('content-security-policy')).toContain("default-src 'self'");
      expect([h.get('x-content-type-options'), h.get('x-frame-options'), h.get('cross-origin-opener-policy')]).toEqual(['nosniff', 'SAMEORIGIN', 'same-origin']);
      expect(h.get('strict-transport-security')).toMatch(/^max-age=\d+/);
      expect(h.get('cross-origin-resource-policy')).toBeNull();
    }
  });

  it('generates a distinct request id for every request', async () => {
    const ids = new Set<string>();
    for (let i = 0; i < 20; i++) ids.add((await gw.request('/health')).headers.get('x-request-id') ?? '');
    expect(ids.size).toBe(20);
    for (const id of ids) expect(id).toMatch(/^req_[A-Za-z0-9_-]{16}$/);
  });

  it('answers unknown routes with the management error shape', async () => {
    const res = await gw.request('/no-such-thing');
    expect(res.status).toBe(404);
    expect(res.body.error).toMatchObject({ code: 'not_found' });
    expect(res.body.error.requestId).toBe(res.headers.get('x-request-id'));
  });

  it('answers unknown /v1 routes with the OpenAI error shape', async () => {
    const res = await gw.request('/v1/nothing-here');
    expect(res.status).toBe(404);
    expect(res.body.error).toEqual(expect.objectContaining({ type: 'not_found_error', code: 'not_found', param: null }));
  });

  it('refuses a body over 1 MB on management routes with 413', async () => {
    const res = await gw.request('/auth/login', { body: { email: 'a@b.c', password: 'x'.repeat(1_100_000) } });
    expect(res.status).toBe(413);
    expect(res.body.error.code).toBe('payload_too_large');
  });

  it('applied the migrations and seeded the built-ins exactly once, idempotently', async () => {
    const { runBuiltinSeeds } = await import('../../seeds/builtin');
    await runBuiltinSeeds(gw.deps.db);
    const services = await gw.deps.db('services').pluck('slug');
    expect(services.sort()).toEqual(['anthropic', 'deepseek', 'gemini', 'googlemaps', 'groq', 'mistral', 'openai', 'openrouter', 'openweather', 'stripe', 'together', 'xai']);
    expect((await gw.deps.db('plans').pluck('id')).sort()).toEqual(['enterprise', 'free', 'pro']);
    expect((await gw.deps.db('model_aliases').pluck('alias')).sort()).toEqual(['claude-fast', 'claude-premium', 'claude-quality']);
  });

  it('serves an OpenAPI document and the Swagger UI', async () => {
    const doc = await gw.request('/openapi.json');
    expect(doc.body.openapi).toBe('3.0.3');
    const ui = await gw.request('/docs');
    expect(ui.text).toContain('swagger-ui');
    expect((await gw.request('/docs/swagger-ui-bundle.js')).status).toBe(200);
    expect((await gw.request('/docs/..%2Fpackage.json')).status).toBe(404);
  });

  it('serves Prometheus metrics with the request counter', async () => {
    await gw.request('/health');
    const res = await gw.request('/metrics');
    expect(res.text).toMatch(/keywallet_http_requests_total\{route="\/health",method="GET",status="200"\} \d+/);
  });

  it('serves every keywallet_* metric the dashboard and alert rules may query (test/unit/monitoring checks the queries)', async () => {
    const res = await gw.request('/metrics');
    const served = new Set([...res.text.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]));
    const registered = (await gw.deps.metrics.registry.getMetricsAsJSON()).map((m) => m.name).filter((n) => n.startsWith('keywallet_'));
    expect(registered.length).toBeGreaterThanOrEqual(16);
    expect(registered.filter((n) => !served.has(n))).toEqual([]);
    expect(res.text).not.toMatch(/kw_(live|test)_/);
  });
});
