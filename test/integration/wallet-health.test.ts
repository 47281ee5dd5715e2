import crypto from 'node:crypto';
import { startTestGateway, TestGateway, TEST_MASTER_KEYS } from '../helpers/gateway';
import { TEST_BACKEND } from '../helpers/backend';
import { addEntry, createService, uniqueSlug } from '../helpers/routing';
import { consumeQuota } from '../../src/routing/entry-quota';
import { CooldownTracker } from '../../src/routing/cooldown';
import type { UsageEvent } from '../../src/usage/event';

/** GET /wallet/health and GET /system: the console's admin at-a-glance data. */
describe(`wallet health and system (${TEST_BACKEND})`, () => {
  let gw: TestGateway;
  let admin: string, analyst: string, developer: string;
  const entries: Record<string, { id: string; secret: string }> = {};

  function usage(walletEntryId: string | null, ts = Date.now()): UsageEvent {
    return {
      ts,
      requestId: crypto.randomUUID(),
      gatewayKeyId: null,
      userId: null,
      walletEntryId,
      surface: 'proxy',
      service: 'svc',
      model: null,
      status: walletEntryId ? 200 : 429,
      errorCode: null,
      latencyMs: 10,
      upstreamLatencyMs: walletEntryId ? 8 : null,
      promptTokens: 0,
      completionTokens: 0,
      costMicros: 0,
      estimated: false,
      stream: false,
      attempts: 1,
    };
  }

  beforeAll(async () => {
    gw = await startTestGateway();
    admin = (await gw.user('admin')).token;
    analyst = (await gw.user('analyst')).token;
    developer = (await gw.user('developer')).token;
    const slug = uniqueSlug('health');
    await createService(gw, admin, { slug, baseUrl: 'http://127.0.0.1:9' });
    entries.free = await addEntry(gw, admin, { service: slug, tier: 'free', quota: { limit: 100, unit: 'requests', period: 'day' } });
    entries.paid = await addEntry(gw, admin, { service: slug, tier: 'paid' });
    entries.cooling = await addEntry(gw, admin, { service: slug, tier: 'paid' });
    entries.bad = await addEntry(gw, admin, { service: slug, tier: 'paid' });
    await gw.deps.db('wallet_entries').where({ id: entries.bad.id }).update({ status: 'invalid', status_reason: 'upstream said 401' });
    // an entry sealed under a version this node no longer lists: rewrap has not reached it
    await gw.deps.db('wallet_entries').where({ id: entries.paid.id }).update({ key_version: 0 });

    const now = gw.deps.clock.now();
    const quota = (await gw.deps.wallet.get(entries.free.id)).entry;
    for (let i = 0; i < 7; i++) await consumeQuota(gw.deps.kv, { id: quota.id, quota: quota.quota! }, { requests: 1, tokens: 0, creditsMicros: 0 }, now);
    // cooled down by another node (as after a 429 there): shared through the store
    await new CooldownTracker(gw.deps.kv, gw.deps.clock, gw.deps.logger).coolDown(entries.cooling.id, 90_000);

    for (let i = 0; i < 3; i++) gw.deps.usage.record(usage(entries.free.id));
    gw.deps.usage.record(usage(entries.paid.id));
    gw.deps.usage.record(usage(null));
    gw.deps.usage.record(usage(entries.free.id, Date.now() - 3 * 86_400_000)); // older than a day: not counted
    await gw.deps.usage.flush();
  }, 120_000);
  afterAll(() => gw.close());

  it('shows every entry masked, with quota used, cooldown left, status counts, tier share and rewrap progress', async () => {
    const res = await gw.request('/wallet/health', { token: admin });
    expect(res.status).toBe(200);
    const body = res.body;
    expect(body.counts).toEqual({ total: 4, byStatus: { active: 3, disabled: 0, invalid: 1 }, coolingDown: 1 });
    const byId = Object.fromEntries(body.entries.map((e: { id: string }) => [e.id, e]));
    expect(byId[entries.free.id].quota).toMatchObject({ limit: 100, unit: 'requests', period: 'day', used: 7, remaining: 93 });
    expect(byId[entries.cooling.id].cooldown.secondsLeft).toBeGreaterThan(80);
    expect(byId[entries.cooling.id].cooldown.secondsLeft).toBeLessThanOrEqual(90);
    expect(byId[entries.paid.id].cooldown).toBeNull();
    expect(byId[entries.bad.id]).toMatchObject({ status: 'invalid', statusReason: 'upstream said 401' });
    expect(body.last24h).toEqual({ requests: { free: 3, paid: 1, none: 1, deleted: 0 }, freeShare: 0.75 });
    expect(body.keyVersions).toEqual({
      current: 1,
      configured: [1],
      entries: [
        { version: 1, entries: 3 },
        { version: 0, entries: 1 },
      ],
      toRewrap: 1,
    });
    for (const { secret } of Object.values(entries)) expect(res.text).not.toContain(secret);
    expect(res.text).not.toMatch(/ciphertext|fingerprint|nonce/);
  });

  it('reports what the node runs on, readiness per dependency, and master key versions without key material', async () => {
    const res = await gw.request('/system', { token: admin });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      backends: { database: TEST_BACKEND === 'postgres' ? 'postgres' : 'pglite', store: TEST_BACKEND === 'postgres' ? 'redis' : 'memory' },
      ready: true,
      checks: { database: 'ok', [TEST_BACKEND === 'postgres' ? 'redis' : 'store']: 'ok' },
      masterKeys: { current: 1, versions: [1] },
    });
    expect(res.body.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(res.body.uptimeSeconds).toBeGreaterThanOrEqual(0);
    expect(Date.parse(res.body.startedAt)).toBeLessThanOrEqual(Date.now());
    expect(res.text).not.toContain(TEST_MASTER_KEYS.slice(2));
    expect(res.text).not.toContain(gw.config.jwt.secret);
  });

  it.each([
    ['/wallet/health', 'developer'],
    ['/wallet/health', 'analyst'],
    ['/system', 'developer'],
    ['/system', 'analyst'],
  ])('refuses %s to a %s (403)', async (path, role) => {
    const res = await gw.request(path, { token: role === 'developer' ? developer : analyst });
    expect(res.status).toBe(403);
    expect(res.body.error.code).toBe('forbidden');
  });

  it.each(['/wallet/health', '/system'])('refuses %s without or with a bad credential (401)', async (path) => {
    expect((await gw.request(path)).status).toBe(401);
    expect((await gw.request(path, { token: 'not-a-jwt' })).status).toBe(401);
    expect((await gw.request(path, { headers: { authorization: 'Bearer kw_live_notajwt' } })).status).toBe(401);
  });

  it('documents both routes with their responses', async () => {
    const doc = (await gw.request('/openapi.json')).body;
    expect(doc.paths['/wallet/health'].get.responses['200'].content['application/json'].schema.properties.entries).toBeDefined();
    expect(doc.paths['/system'].get.responses['200'].content['application/json'].schema.properties.backends).toBeDefined();
  });
});
