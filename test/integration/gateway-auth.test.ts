import http from 'node:http';
import Koa from 'koa';
import { startTestGateway, TestGateway } from '../helpers/gateway';
import { TEST_BACKEND } from '../helpers/backend';
import { createGatewayKey, createUserWithKey, eventually, keyHeaders } from '../helpers/keys';
import { errorHandler } from '../../src/http/error-handler';
import { requestContext } from '../../src/http/request-context';
import type { AppContext, AppState } from '../../src/http/context';
import { generateGatewayKey } from '../../src/keys/key-format';
import { PLANS_CHANGED } from '../../src/keys/events';

/**
 * The gateway guard, exercised over HTTP through a probe app built in the test from the gateway's own
 * deps.keys (the /v1 routes are another capability's): it echoes the principal the guard established.
 */
async function startProbe(gw: TestGateway, trustProxy: boolean) {
  const app = new Koa<AppState>({ proxy: trustProxy });
  app.use(requestContext(gw.deps.logger));
  app.use(errorHandler(gw.deps.logger));
  app.use(gw.deps.keys.guard);
  app.use((ctx: AppContext) => {
    ctx.body = { principal: ctx.state.principal };
  });
  const server = http.createServer(app.callback());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  return {
    get: async (headers: Record<string, string>) => {
      const res = await fetch(`${url}/v1/probe`, { headers });
      return { status: res.status, body: (await res.json()) as any };
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe(`gateway key verification (${TEST_BACKEND})`, () => {
  let gw: TestGateway;
  let offsetMs = 0;
  let probe: Awaited<ReturnType<typeof startProbe>>;
  let proxied: Awaited<ReturnType<typeof startProbe>>;

  beforeAll(async () => {
    gw = await startTestGateway({ clock: { now: () => Date.now() + offsetMs } });
    probe = await startProbe(gw, false);
    proxied = await startProbe(gw, true);
  });
  afterAll(async () => {
    await probe.close();
    await proxied.close();
    await gw.close();
  });

  it('accepts the key in Authorization: Bearer, x-api-key and api-key, with the plan limits in the principal', async () => {
    const { key, id, user } = await createUserWithKey(gw, 'developer', { scopes: ['chat', 'models'], limits: { rpm: 7 } }, 'pro');
    for (const headers of [keyHeaders.bearer(key), keyHeaders.xApiKey(key), keyHeaders.apiKey(key)]) {
      const res = await probe.get(headers);
      expect(res.status).toBe(200);
      expect(res.body.principal).toMatchObject({
        keyId: id,
        userId: user.id,
        environment: 'live',
        scopes: ['chat', 'models'],
        limits: { rpm: 7 },
        plan: { id: 'pro', rpm: 600, rph: 20000, rpd: 200000, tpm: 1000000, monthlyCreditsMicros: 100_000_000, services: null },
      });
    }
  });

  it('refuses a missing key with 401 invalid_api_key in the OpenAI shape', async () => {
    const res = await probe.get({});
    expect(res.status).toBe(401);
    expect(res.body.error).toMatchObject({ code: 'invalid_api_key', type: 'authentication_error', param: null });
  });

  it('rejects a mistyped key (bad checksum) without a database lookup', async () => {
    const { key } = await createUserWithKey(gw);
    const typo = key.slice(0, 20) + (key[20] === 'a' ? 'b' : 'a') + key.slice(21);
    const before = gw.deps.keys.lookups();
    const res = await probe.get(keyHeaders.bearer(typo));
    expect(res.status).toBe(401);
    expect(res.body.error.code).toBe('invalid_api_key');
    expect(gw.deps.keys.lookups()).toBe(before);
  });

  it('serves a warm key and repeated unknown keys from the cache', async () => {
    const { key } = await createUserWithKey(gw);
    await gw.deps.keys.verify(key);
    const unknown = generateGatewayKey('live');
    await expect(gw.deps.keys.verify(unknown)).rejects.toMatchObject({ code: 'invalid_api_key' });
    const before = gw.deps.keys.lookups();
    for (let i = 0; i < 20; i++) {
      await gw.deps.keys.verify(key);
      await expect(gw.deps.keys.verify(unknown)).rejects.toMatchObject({ code: 'invalid_api_key', status: 401 });
    }
    expect(gw.deps.keys.lookups()).toBe(before);
  });

  it('makes concurrent cold checks of one key share a single lookup', async () => {
    const { key } = await createUserWithKey(gw);
    gw.deps.keys.invalidateAll();
    const before = gw.deps.keys.lookups();
    await Promise.all(Array.from({ length: 10 }, () => gw.deps.keys.verify(key)));
    expect(gw.deps.keys.lookups()).toBe(before + 1);
  });

  it('refuses a revoked key at once, even when it was cached', async () => {
    const { key, id, token } = await createUserWithKey(gw);
    expect((await probe.get(keyHeaders.bearer(key))).status).toBe(200);
    expect((await gw.request(`/api-keys/${id}`, { method: 'DELETE', token })).status).toBe(200);
    const res = await probe.get(keyHeaders.bearer(key));
    expect(res.status).toBe(401);
    expect(res.body.error).toMatchObject({ code: 'invalid_api_key', message: 'This API key has been revoked' });
  });

  it('refuses a key once its expiry passes on the injected clock', async () => {
    const { key } = await createUserWithKey(gw, 'developer', { expiresAt: new Date(Date.now() + 3_600_000).toISOString() });
    expect((await probe.get(keyHeaders.bearer(key))).status).toBe(200);
    offsetMs = 2 * 3_600_000;
    try {
      const res = await probe.get(keyHeaders.bearer(key));
      expect(res.status).toBe(401);
      expect(res.body.error.message).toBe('This API key has expired');
    } finally {
      offsetMs = 0;
    }
  });

  it('refuses the keys of a disabled user at once and accepts them again when re-enabled', async () => {
    const admin = await gw.user('admin');
    const { key, user } = await createUserWithKey(gw);
    expect((await probe.get(keyHeaders.bearer(key))).status).toBe(200);
    await gw.request(`/users/${user.id}`, { method: 'PATCH', token: admin.token, body: { disabled: true } });
    expect((await probe.get(keyHeaders.bearer(key))).status).toBe(401);
    await gw.request(`/users/${user.id}`, { method: 'PATCH', token: admin.token, body: { disabled: false } });
    expect((await probe.get(keyHeaders.bearer(key))).status).toBe(200);
  });

  it('sees plan changes after a plans:changed message', async () => {
    const { key, user } = await createUserWithKey(gw, 'developer', {}, 'free');
    expect((await gw.deps.keys.verify(key)).principal.plan.rpm).toBe(20);
    await gw.deps.db('plans').insert({ id: `custom-${user.id.slice(0, 8)}`, name: 'Custom', rpm: 3, monthly_credits_micros: null });
    await gw.deps.db('users').where({ id: user.id }).update({ plan_id: `custom-${user.id.slice(0, 8)}` });
    await gw.deps.kv.publish(PLANS_CHANGED, '{}');
    await eventually(async () => {
      const { principal } = await gw.deps.keys.verify(key);
      expect(principal.plan).toMatchObject({ id: `custom-${user.id.slice(0, 8)}`, rpm: 3, monthlyCreditsMicros: null });
    });
  });

  it('enforces the IP allow-list against the socket address unless TRUST_PROXY is set', async () => {
    const { key } = await createUserWithKey(gw, 'developer', { allowedIps: ['10.0.0.0/8', '2001:db8::/32'] });
    const spoofed = { ...keyHeaders.bearer(key), 'x-forwarded-for': '10.1.2.3' };
    const direct = await probe.get(spoofed);
    expect(direct.status).toBe(403);
    expect(direct.body.error).toMatchObject({ code: 'forbidden', type: 'permission_error' });
    expect((await proxied.get(spoofed)).status).toBe(200);
    expect((await proxied.get({ ...keyHeaders.bearer(key), 'x-forwarded-for': '2001:db8::7' })).status).toBe(200);
    expect((await proxied.get({ ...keyHeaders.bearer(key), 'x-forwarded-for': '192.168.0.1' })).status).toBe(403);
    const local = await createUserWithKey(gw, 'developer', { allowedIps: ['127.0.0.1/32'] });
    expect((await probe.get(keyHeaders.bearer(local.key))).status).toBe(200);
  });

  it('enforces the referrer allow-list from Referer or Origin', async () => {
    const { key } = await createUserWithKey(gw, 'developer', { allowedReferrers: ['https://app.example.com', '*.example.org'] });
    expect((await probe.get(keyHeaders.bearer(key))).status).toBe(403);
    expect((await probe.get({ ...keyHeaders.bearer(key), referer: 'https://app.example.com/page' })).status).toBe(200);
    expect((await probe.get({ ...keyHeaders.bearer(key), origin: 'https://docs.example.org' })).status).toBe(200);
    expect((await probe.get({ ...keyHeaders.bearer(key), referer: 'https://evil.example.net/' })).status).toBe(403);
  });

  it('lets a newly created key work at once, with nothing to warm up', async () => {
    const { token } = await gw.user('developer');
    const made = await createGatewayKey(gw, token);
    expect((await probe.get(keyHeaders.xApiKey(made.key))).status).toBe(200);
  });

  it('keeps a test-environment key marked as test', async () => {
    const { key } = await createUserWithKey(gw, 'developer', { environment: 'test' });
    expect(key.startsWith('kw_test_')).toBe(true);
    expect((await probe.get(keyHeaders.bearer(key))).body.principal.environment).toBe('test');
  });
});
