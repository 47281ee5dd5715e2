import { startTestGateway, TestGateway } from '../helpers/gateway';
import { TEST_BACKEND } from '../helpers/backend';
import { fakeSecret } from '../helpers/fake-secrets';
import { findLeaks, recordResponses, tableText } from '../helpers/secret-scan';
import { startSecondNode, GatewayNode } from '../helpers/second-node';
import { generateMasterKey } from '../../src/wallet/crypto';
import { WalletEntryUnusable } from '../../src/wallet/opener';
import { quotaCounter } from '../../src/routing/quota';

describe(`wallet keys (${TEST_BACKEND})`, () => {
  let gw: TestGateway;
  let admin: string;
  let developer: string;
  let analyst: string;
  let responses: string[];
  const secrets: string[] = [];
  const secret = (make: () => string) => {
    const s = make();
    secrets.push(s);
    return s;
  };

  const createKey = (body: Record<string, unknown>) => gw.request('/wallet/keys', { method: 'POST', token: admin, body });
  const auditRows = (action: string, targetId?: string) =>
    gw.deps.db('audit_log').where({ action, ...(targetId ? { target_id: targetId } : {}) }).orderBy('id');

  beforeAll(async () => {
    gw = await startTestGateway();
    responses = recordResponses(gw);
    admin = (await gw.user('admin')).token;
    developer = (await gw.user('developer')).token;
    analyst = (await gw.user('analyst')).token;
  }, 120_000); // PGlite boots slowly on a busy machine
  afterAll(() => gw.close());

  describe('detection round trip of every built-in key format', () => {
    it.each([
      ['openai', 'live', fakeSecret.openaiProject],
      ['openai', 'live', fakeSecret.openaiLegacy],
      ['anthropic', 'live', fakeSecret.anthropic],
      ['stripe', 'live', fakeSecret.stripeLive],
      ['stripe', 'test', fakeSecret.stripeTest],
      ['stripe', 'live', fakeSecret.stripeRestricted],
      ['googlemaps', 'live', fakeSecret.googlemaps],
      ['openweather', 'live', fakeSecret.openweather],
    ])('detects %s (%s) from the key alone and opens it again %#', async (service, environment, make) => {
      const s = secret(make);
      const res = await createKey({ secret: s, label: `${service} key` });
      expect(res.status).toBe(201);
      expect(res.body).toMatchObject({ service, environment, status: 'active', secretHint: `…${s.slice(-4)}`, keyVersion: 1, tier: 'paid', priority: 100, weight: 1 });
      expect(Object.keys(res.body)).not.toEqual(expect.arrayContaining(['secret', 'fingerprint', 'ciphertext', 'nonce']));
      const got = await gw.request(`/wallet/keys/${res.body.id}`, { token: admin });
      expect(got.body).toMatchObject({ id: res.body.id, service, secretHint: `…${s.slice(-4)}` });
      const { entry } = await gw.deps.wallet.get(res.body.id);
      expect(await gw.deps.wallet.openSecret(entry)).toBe(s);
    });
  });

  it('refuses an undetectable key without a service, and says so', async () => {
    const res = await createKey({ secret: secret(() => `zz-${fakeSecret.openweather()}`), label: 'mystery' });
    expect(res.status).toBe(400);
    expect(res.body.error.message).toMatch(/could not be detected.*pass "service"/);
    expect(res.body.error.details).toEqual({ reason: 'unknown', candidates: [] });
  });

  it('refuses an ambiguous key listing the candidates, and takes it once the service is named', async () => {
    const svc = await gw.request('/services', {
      token: admin,
      body: { slug: 'weatherco', kind: 'rest', baseUrl: 'http://127.0.0.1:9', auth: { type: 'query', name: 'key' }, keyPattern: '^[0-9a-f]{32}$', allowPrivate: true },
    });
    expect(svc.status).toBe(201);
    const s = secret(fakeSecret.openweather);
    const ambiguous = await createKey({ secret: s, label: 'which one' });
    expect(ambiguous.status).toBe(400);
    expect(ambiguous.body.error.details).toEqual({ reason: 'ambiguous', candidates: ['openweather', 'weatherco'] });
    expect(ambiguous.body.error.message).toContain('openweather, weatherco');
    const named = await createKey({ secret: s, service: 'weatherco', label: 'named' });
    expect(named.status).toBe(201);
    expect(named.body.service).toBe('weatherco');
  });

  it('refuses an unknown or disabled service slug', async () => {
    expect((await createKey({ secret: secret(fakeSecret.openaiProject), service: 'nope', label: 'x' })).body.error.message).toBe('Unknown service nope');
    await gw.request('/services/googlemaps', { method: 'PATCH', token: admin, body: { enabled: false } });
    const disabled = await createKey({ secret: secret(fakeSecret.googlemaps), label: 'maps' });
    expect(disabled.status).toBe(400);
    expect(disabled.body.error.message).toBe('Service googlemaps is disabled');
    await gw.request('/services/googlemaps', { method: 'PATCH', token: admin, body: { enabled: true } });
  });

  it('refuses invalid bodies without echoing the secret', async () => {
    const s = secret(fakeSecret.openaiProject);
    for (const body of [
      { secret: s, label: 'x', tier: 'gold' },
      { secret: s, label: 'x', weight: 0 },
      { secret: s, label: 'x', quota: { limit: 1.5, unit: 'requests', period: 'day' } },
      { secret: `${s} trailing`, label: 'x' },
      { secret: s, label: '' },
      { secret: s, label: 'x', extra: true },
    ]) {
      const res = await createKey(body);
      expect(res.status).toBe(400);
      expect(res.text).not.toContain(s);
    }
  });

  it('refuses a duplicate secret with 409, also from a node whose current master key is newer', async () => {
    const s = secret(fakeSecret.anthropic);
    const first = await createKey({ secret: s, label: 'first' });
    expect(first.status).toBe(201);
    const again = await createKey({ secret: s, label: 'again', tier: 'free' });
    expect(again.status).toBe(409);
    expect(again.body.error.details).toEqual({ id: first.body.id });

    const oldKey = gw.config.masterKeys.split(':')[1];
    const node2: GatewayNode = await startSecondNode(gw, { KEYWALLET_MASTER_KEYS: `2:${generateMasterKey()},1:${oldKey}` });
    try {
      const fromNode2 = await node2.request('/wallet/keys', { method: 'POST', token: admin, body: { secret: s, label: 'node2' } });
      expect(fromNode2.status).toBe(409);
      const fresh = secret(fakeSecret.anthropic);
      const created = await node2.request('/wallet/keys', { method: 'POST', token: admin, body: { secret: fresh, label: 'v2' } });
      expect(created.status).toBe(201);
      expect(created.body.keyVersion).toBe(2);
      const dup = await node2.request('/wallet/keys', { method: 'POST', token: admin, body: { secret: fresh, label: 'v2 again' } });
      expect(dup.status).toBe(409);
      expect(findLeaks(secrets, { node2Logs: node2.logs.join('') })).toEqual([]);
    } finally {
      await node2.close();
    }
  });

  it('lists with filters, masked', async () => {
    const all = await gw.request('/wallet/keys', { token: admin });
    expect(all.status).toBe(200);
    expect(all.body.data.length).toBeGreaterThanOrEqual(9);
    const stripeTest = await gw.request('/wallet/keys?service=stripe&environment=test', { token: admin });
    expect(stripeTest.body.data).toHaveLength(1);
    expect(stripeTest.body.data[0]).toMatchObject({ service: 'stripe', environment: 'test' });
    expect((await gw.request('/wallet/keys?tier=free', { token: admin })).body.data).toEqual([]);
    expect((await gw.request('/wallet/keys?status=bogus', { token: admin })).status).toBe(400);
  });

  it('shows the quota used this period on GET /:id (requests and credits)', async () => {
    const byRequests = await createKey({ secret: secret(fakeSecret.openaiProject), label: 'free tier', tier: 'free', priority: 10, quota: { limit: 3, unit: 'requests', period: 'day' } });
    expect(byRequests.body.quota).toEqual({ limit: 3, unit: 'requests', period: 'day' });
    const now = Date.now();
    const { entry } = await gw.deps.wallet.get(byRequests.body.id);
    await gw.deps.kv.admit([quotaCounter(entry.id, entry.quota!, now, 1)], now);
    await gw.deps.kv.admit([quotaCounter(entry.id, entry.quota!, now, 1)], now);
    const got = await gw.request(`/wallet/keys/${entry.id}`, { token: admin });
    expect(got.body.quota).toMatchObject({ limit: 3, unit: 'requests', period: 'day', used: 2, remaining: 1 });
    expect(new Date(got.body.quota.resetsAt).getTime()).toBe(Math.floor(now / 86_400_000) * 86_400_000 + 86_400_000);

    const byCredits = await createKey({ secret: secret(fakeSecret.openaiProject), label: 'budget', quota: { limit: 2.5, unit: 'credits', period: 'month' } });
    const credits = (await gw.deps.wallet.get(byCredits.body.id)).entry;
    expect(credits.quota).toEqual({ limit: 2_500_000, unit: 'credits', period: 'month' }); // counters count micro-credits
    await gw.deps.kv.admit([quotaCounter(credits.id, credits.quota!, now, 500_000)], now);
    const shown = await gw.request(`/wallet/keys/${credits.id}`, { token: admin });
    expect(shown.body.quota).toMatchObject({ limit: 2.5, unit: 'credits', used: 0.5, remaining: 2 });
  });

  it('patches, audits before/after, and deletes', async () => {
    const created = await createKey({ secret: secret(fakeSecret.stripeLive), label: 'patch me' });
    const id = created.body.id;
    const patched = await gw.request(`/wallet/keys/${id}`, {
      method: 'PATCH',
      token: admin,
      body: { label: 'patched', tier: 'free', priority: 5, weight: 7, environment: 'test', status: 'disabled', quota: { limit: 10, unit: 'tokens', period: 'minute' }, metadata: { team: 'x' } },
    });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ label: 'patched', tier: 'free', priority: 5, weight: 7, environment: 'test', status: 'disabled', metadata: { team: 'x' } });
    const [audit] = await auditRows('wallet.update', id);
    expect(audit.before).toMatchObject({ label: 'patch me', status: 'active' });
    expect(audit.after).toMatchObject({ label: 'patched', status: 'disabled' });
    expect(Object.keys(audit.after)).not.toEqual(expect.arrayContaining(['fingerprint', 'ciphertext', 'nonce', 'secret']));
    expect((await gw.request(`/wallet/keys/${id}`, { method: 'PATCH', token: admin, body: { status: 'invalid' } })).status).toBe(400);
    expect((await gw.request(`/wallet/keys/${id}`, { method: 'PATCH', token: admin, body: {} })).status).toBe(400);

    expect((await gw.request(`/wallet/keys/${id}`, { method: 'DELETE', token: admin })).status).toBe(204);
    expect((await gw.request(`/wallet/keys/${id}`, { token: admin })).status).toBe(404);
    expect((await gw.request(`/wallet/keys/${id}`, { method: 'DELETE', token: admin })).status).toBe(404);
    expect((await gw.request('/wallet/keys/not-a-uuid', { token: admin })).status).toBe(404);
    const [deleted] = await auditRows('wallet.delete', id);
    expect(deleted.before).toMatchObject({ id, label: 'patched' });
    expect(deleted.after).toBeNull();
  });

  it('replaces a secret: new hint, new fingerprint, an invalid entry active again, duplicates refused', async () => {
    const old = secret(fakeSecret.openaiProject);
    const created = await createKey({ secret: old, label: 'rotating' });
    const id = created.body.id;
    expect(await gw.deps.wallet.markInvalid(id, 'upstream_401')).toBe(true);
    expect(await gw.deps.wallet.markInvalid(id, 'upstream_401')).toBe(false); // already so: no second audit row
    expect((await gw.request(`/wallet/keys/${id}`, { token: admin })).body).toMatchObject({ status: 'invalid', statusReason: 'upstream_401' });
    const [invalidAudit] = await auditRows('wallet.mark_invalid', id);
    expect(invalidAudit.actor_type).toBe('system');
    expect(gw.logs.join('')).toMatch(/"alert":"wallet_entry_invalid"/);

    const fresh = secret(fakeSecret.openaiProject);
    const replaced = await gw.request(`/wallet/keys/${id}/secret`, { token: admin, body: { secret: fresh } });
    expect(replaced.status).toBe(200);
    expect(replaced.body).toMatchObject({ id, status: 'active', statusReason: null, secretHint: `…${fresh.slice(-4)}` });
    const { entry } = await gw.deps.wallet.get(id);
    expect(await gw.deps.wallet.openSecret(entry)).toBe(fresh);
    expect((await auditRows('wallet.replace_secret', id))[0].after.secretHint).toBe(`…${fresh.slice(-4)}`);

    const other = await createKey({ secret: secret(fakeSecret.openaiProject), label: 'other' });
    const dup = await gw.request(`/wallet/keys/${other.body.id}/secret`, { token: admin, body: { secret: fresh } });
    expect(dup.status).toBe(409);
    // the old secret is free again and may be stored anew
    expect((await createKey({ secret: old, label: 'old again' })).status).toBe(201);
    expect(await gw.deps.wallet.markValid(id)).toBe(false);
  });

  it('serves a warm secret from the cache and drops it when the entry changes', async () => {
    const s = secret(fakeSecret.anthropic);
    const { body } = await createKey({ secret: s, label: 'hot' });
    const open = jest.spyOn(gw.deps.wallet.sealer, 'open');
    try {
      const { entry } = await gw.deps.wallet.get(body.id);
      expect(await gw.deps.wallet.openSecret(entry)).toBe(s);
      expect(await gw.deps.wallet.openSecret(entry)).toBe(s);
      expect(await gw.deps.wallet.openSecret({ id: entry.id })).toBe(s);
      expect(open).toHaveBeenCalledTimes(1);
      await gw.request(`/wallet/keys/${body.id}`, { method: 'PATCH', token: admin, body: { label: 'hot 2' } });
      expect(await gw.deps.wallet.openSecret({ id: entry.id })).toBe(s);
      expect(open).toHaveBeenCalledTimes(2);
    } finally {
      open.mockRestore();
    }
  });

  it('a ciphertext copied into another row does not open; that entry is reported unusable', async () => {
    const a = await createKey({ secret: secret(fakeSecret.stripeLive), label: 'donor' });
    const b = await createKey({ secret: secret(fakeSecret.stripeLive), label: 'victim' });
    const donor = await gw.deps.db('wallet_entries').where({ id: a.body.id }).first('ciphertext', 'nonce', 'key_version');
    await gw.deps.db('wallet_entries').where({ id: b.body.id }).update(donor);

    const { entry } = await gw.deps.wallet.get(b.body.id);
    const failure = await gw.deps.wallet.openSecret(entry).catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(WalletEntryUnusable);
    expect(failure).toMatchObject({ entryId: b.body.id, reason: 'decrypt_failed' });
    const shown = await gw.request(`/wallet/keys/${b.body.id}`, { token: admin });
    expect(shown.body).toMatchObject({ status: 'invalid', statusReason: 'decrypt_failed' });
    expect((await auditRows('wallet.mark_invalid', b.body.id)).map((r) => r.actor_type)).toEqual(['system']);
    const { entry: donorEntry } = await gw.deps.wallet.get(a.body.id);
    expect(await gw.deps.wallet.openSecret(donorEntry)).toMatch(/^sk_live_/);
  });

  it('keeps a per-node list of active entries that a change invalidates', async () => {
    const before = await gw.deps.wallet.activeEntries('anthropic', 'live');
    expect(before.length).toBeGreaterThan(0);
    expect(before.every((e) => e.service === 'anthropic' && e.environment === 'live' && e.status === 'active')).toBe(true);
    expect(await gw.deps.wallet.activeEntries('anthropic', 'live')).toBe(before); // served from memory
    expect(await gw.deps.wallet.markInvalid(before[0].id, 'upstream_403')).toBe(true);
    const after = await gw.deps.wallet.activeEntries('anthropic', 'live');
    expect(after.map((e) => e.id)).not.toContain(before[0].id);
    expect(after).toHaveLength(before.length - 1);
    expect(await gw.deps.wallet.markValid(before[0].id)).toBe(true);
    expect((await gw.deps.wallet.activeEntries('anthropic', 'live')).map((e) => e.id)).toContain(before[0].id);
    expect(await gw.deps.wallet.markInvalid('00000000-0000-4000-8000-000000000000', 'upstream_401')).toBe(false);
    expect(await gw.deps.wallet.markValid('00000000-0000-4000-8000-000000000000')).toBe(false);
  });

  it('lets only admins near the wallet', async () => {
    const id = (await gw.request('/wallet/keys', { token: admin })).body.data[0].id;
    const routes: [string, string, unknown?][] = [
      ['GET', '/wallet/keys'],
      ['POST', '/wallet/keys', { secret: fakeSecret.openaiProject(), label: 'x' }],
      ['GET', `/wallet/keys/${id}`],
      ['PATCH', `/wallet/keys/${id}`, { label: 'x' }],
      ['DELETE', `/wallet/keys/${id}`],
      ['POST', `/wallet/keys/${id}/secret`, { secret: fakeSecret.openaiProject() }],
      ['POST', '/wallet/import', []],
    ];
    for (const [method, path, body] of routes) {
      for (const token of [developer, analyst]) {
        const res = await gw.request(path, { method, token, body });
        expect([method, path, res.status]).toEqual([method, path, 403]);
        expect(res.body.error.code).toBe('forbidden');
      }
      expect((await gw.request(path, { method, body })).status).toBe(401);
    }
    expect((await gw.request(`/wallet/keys/${id}`, { token: admin })).status).toBe(200);
  });

  it('keeps no plaintext in any column of wallet_entries', async () => {
    const text = await tableText(gw.deps.db, 'wallet_entries');
    expect(text.length).toBeGreaterThan(1000);
    expect(findLeaks(secrets, { wallet_entries: text })).toEqual([]);
  });

  it('never shows a test secret in a response, a log line or an audit row', async () => {
    expect(findLeaks([secrets[0]], { probe: `x${secrets[0].slice(2, -3)}y` })).toEqual(['secret #0 in probe']); // the scan can fail
    expect(secrets.length).toBeGreaterThan(20);
    expect(responses.length).toBeGreaterThan(40);
    const audit = await tableText(gw.deps.db, 'audit_log');
    expect(audit).toContain('wallet.create');
    expect(findLeaks(secrets, { responses: responses.join('\n'), logs: gw.logs.join(''), audit_log: audit })).toEqual([]);
  });
});
