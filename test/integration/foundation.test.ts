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
    expect(services.sort()).toEqual(['anthropic', 'googlemaps', 'openai', 'openweather', 'stripe']);
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
