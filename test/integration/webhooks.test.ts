import crypto from 'node:crypto';
import { TEST_BACKEND } from '../helpers/backend';
import { startTestGateway, type TestGateway } from '../helpers/gateway';
import { eventually } from '../helpers/keys';
import { startSecondNode, type GatewayNode } from '../helpers/second-node';
import { findLeaks, recordResponses, tableText } from '../helpers/secret-scan';
import { startWebhookReceiver, type ReceivedHook, type WebhookReceiver } from '../helpers/webhook-receiver';
import { verifySignature } from '../../src/webhooks/signing';
import { WebhookDeliverer } from '../../src/webhooks/deliverer';
import { insertDeliveries } from '../../src/webhooks/store';
import type { BudgetUsageSample } from '../../src/alerts/types';

/** Issue 17: budget alerts and wallet events to signed webhooks, once per period per threshold across nodes. */
jest.setTimeout(60_000);

describe(`webhooks and budget alerts (${TEST_BACKEND})`, () => {
  const ENV = { WEBHOOK_RETRY_BASE_MS: '20', WEBHOOK_POLL_MS: '200', WEBHOOK_TIMEOUT_MS: '2000' };
  let gw: TestGateway;
  let receiver: WebhookReceiver;
  let admin: string;
  let hookId: string;
  let secret: string;
  const secrets: string[] = [];
  let responses: string[];

  const req = (path: string, token: string | undefined, method = 'GET', body?: unknown) => gw.request(path, { method, token, body });
  const budget = (over: Partial<BudgetUsageSample>): BudgetUsageSample => ({
    scope: 'team', scopeId: crypto.randomUUID(), period: '2026-12', spentMicros: 8_100_000, budgetMicros: 10_000_000, ...over,
  });
  const hooksFor = (r: WebhookReceiver, pred: (h: ReceivedHook) => boolean) => r.received.filter(pred);
  const validSig = (h: ReceivedHook, key = secret) =>
    verifySignature(key, String(h.headers['x-keywallet-signature']), h.body, Math.floor(Date.now() / 1000));

  beforeAll(async () => {
    gw = await startTestGateway({ env: ENV });
    responses = recordResponses(gw as never);
    receiver = await startWebhookReceiver();
    admin = (await gw.user('admin')).token;
    const created = await req('/webhooks', admin, 'POST', { url: receiver.url, allowPrivate: true, description: 'ops' });
    expect(created.status).toBe(201);
    hookId = created.body.id;
    secret = created.body.secret;
    secrets.push(secret);
  }, 120_000);
  afterAll(async () => {
    await gw.close();
    await receiver.close();
  });

  it('creates a webhook with a server-generated secret shown once, sealed at rest', async () => {
    expect(secret).toMatch(/^whsec_[A-Za-z0-9_-]{43}$/);
    const got = await req(`/webhooks/${hookId}`, admin);
    expect(got.status).toBe(200);
    expect(got.body).toMatchObject({ id: hookId, url: receiver.url, enabled: true, allowPrivate: true, teamId: null, description: 'ops' });
    expect(got.body.events).toEqual(['budget.threshold', 'wallet.entry_invalid', 'wallet.quota_threshold', 'wallet.free_tier_exhausted']);
    expect(got.text).not.toContain('whsec_');
    expect((await req('/webhooks', admin)).text).not.toContain('whsec_');
    expect(await tableText(gw.deps.db, 'webhooks')).not.toContain(secret);
  });

  it('delivers an 80 % alert exactly once with a valid signature, retried after the receiver first answers 500, and logs it', async () => {
    const sample = budget({});
    receiver.script.push(500); // the first request (the 50 % alert or the 80 % one, whichever goes first) fails
    for (let i = 0; i < 5; i++) gw.deps.budgetObserver.observe([sample]);
    gw.deps.budgetObserver.observe([sample, sample]);
    await gw.deps.alerts.flush();
    const is80 = (h: ReceivedHook) => h.json?.type === 'budget.threshold' && h.json.data.scopeId === sample.scopeId && h.json.data.threshold === 80;
    const is50 = (h: ReceivedHook) => h.json?.type === 'budget.threshold' && h.json.data.scopeId === sample.scopeId && h.json.data.threshold === 50;
    await eventually(async () => {
      expect(hooksFor(receiver, is80).filter((h) => h.answered === 200)).toHaveLength(1);
      expect(hooksFor(receiver, is50).filter((h) => h.answered === 200)).toHaveLength(1);
    }, 10_000);
    // later samples of the same period fire nothing new
    gw.deps.budgetObserver.observe([{ ...sample, spentMicros: 9_000_000 }]);
    await gw.deps.alerts.flush();
    const all = hooksFor(receiver, (h) => is80(h) || is50(h)); // in the order received
    expect(all).toHaveLength(3); // one 500, then two successes
    expect(all.map((h) => h.answered).sort()).toEqual([200, 200, 500]);
    const [first] = all;
    const retried = all.filter((h) => h.json.id === first.json.id);
    expect(retried.map((h) => h.answered)).toEqual([500, 200]);
    expect(retried.map((h) => h.headers['x-keywallet-delivery-attempt'])).toEqual(['1', '2']);
    for (const h of all) {
      expect(validSig(h)).toBe(true);
      expect(validSig(h, `${secret}x`)).toBe(false);
      expect(h.headers['x-keywallet-event-id']).toBe(h.json.id);
      expect(h.headers['content-type']).toBe('application/json');
    }
    const hit = hooksFor(receiver, is80)[0].json;
    expect(hit.data).toMatchObject({ scope: 'team', scopeId: sample.scopeId, period: '2026-12', threshold: 80, percent: 81, spentUsd: 8.1, budgetUsd: 10 });
    // a tampered body does not verify
    expect(verifySignature(secret, String(hooksFor(receiver, is80)[0].headers['x-keywallet-signature']), hooksFor(receiver, is80)[0].body.replace('81', '18'), Math.floor(Date.now() / 1000))).toBe(false);
    // one alert row per threshold, its audit row, and the metric
    expect(await gw.deps.db('alerts').where({ scope_id: sample.scopeId }).orderBy('threshold').pluck('threshold')).toEqual([50, 80]);
    const audits = await gw.deps.db('audit_log').where({ action: 'alert.fired' }).whereIn('target_id', [hit.id]);
    expect(audits).toHaveLength(1);
    expect(audits[0].actor_type).toBe('system');
    const metric = await gw.deps.metrics.registry.getSingleMetricAsString('keywallet_alerts_fired_total');
    expect(metric).toMatch(/keywallet_alerts_fired_total\{kind="budget.threshold",scope="team",threshold="80"\} [1-9]/);
    expect(metric).not.toContain(sample.scopeId);
    // the delivery log shows both attempts of the retried event
    const delivery = await eventually(async () => {
      const log = await req(`/webhooks/${hookId}/deliveries`, admin);
      expect(log.status).toBe(200);
      const d = log.body.data.find((x: { eventId: string }) => x.eventId === first.json.id);
      expect(d).toMatchObject({ status: 'succeeded', attempts: 2, lastStatusCode: 200, eventType: 'budget.threshold' });
      return d;
    }, 10_000);
    expect(delivery.log.map((a: { statusCode: number }) => a.statusCode)).toEqual([500, 200]);
    expect(delivery.log[0]).toMatchObject({ attempt: 1, error: 'HTTP 500', nextRetryAt: expect.any(String), durationMs: expect.any(Number) });
    expect(delivery.log[1]).toMatchObject({ attempt: 2, error: null, nextRetryAt: null });
    expect((await req(`/webhooks/${hookId}/deliveries?status=failed`, admin)).body.data).toEqual([]);
  });

  it('fires once when two gateway nodes cross the threshold together', async () => {
    const second: GatewayNode = await startSecondNode(gw, { KEYWALLET_MASTER_KEYS: gw.config.masterKeys, ...ENV });
    try {
      const sample = budget({ scope: 'org', scopeId: 'org', period: '2026-11', spentMicros: 8_000_000 });
      const mine = (h: ReceivedHook) => h.json?.type === 'budget.threshold' && h.json.data.scope === 'org' && h.json.data.period === '2026-11';
      await Promise.all(
        Array.from({ length: 10 }, async (_, i) => {
          (i % 2 ? second.deps : gw.deps).budgetObserver.observe([sample]);
        }),
      );
      await Promise.all([gw.deps.alerts.flush(), second.deps.alerts.flush()]);
      await eventually(async () => expect(hooksFor(receiver, mine).map((h) => h.json.data.threshold).sort()).toEqual([50, 80]), 10_000);
      // both nodes keep polling for due deliveries: nothing is sent again
      await Promise.all([gw.deps.webhooks.kick(), second.deps.webhooks.kick()]);
      await new Promise((r) => setTimeout(r, 500));
      expect(hooksFor(receiver, mine)).toHaveLength(2);
      expect(await gw.deps.db('alerts').where({ scope: 'org', period: '2026-11' }).count({ n: '*' })).toEqual([{ n: expect.anything() }]);
      expect(Number((await gw.deps.db('alerts').where({ scope: 'org', period: '2026-11' }).count({ n: '*' }))[0].n)).toBe(2);
      await eventually(async () => {
        expect(Number((await gw.deps.db('webhook_delivery_attempts').whereIn('event_id', hooksFor(receiver, mine).map((h) => h.json.id)).count({ n: '*' }))[0].n)).toBe(2);
      }, 10_000);
    } finally {
      await second.close();
    }
  });

  it('sends a signed sample on POST /webhooks/:id/test and answers with the delivery', async () => {
    const res = await req(`/webhooks/${hookId}/test`, admin, 'POST');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ eventType: 'webhook.test', status: 'succeeded', attempts: 1, lastStatusCode: 200 });
    expect(res.body.log).toHaveLength(1);
    const got = receiver.received.filter((h) => h.json?.id === res.body.eventId);
    expect(got).toHaveLength(1);
    expect(got[0].json).toMatchObject({ type: 'webhook.test', data: { webhookId: hookId } });
    expect(validSig(got[0])).toBe(true);
    expect(await gw.deps.db('audit_log').where({ action: 'webhook.test', target_id: hookId }).count({ n: '*' }).then((r) => Number(r[0].n))).toBe(1);
  });

  it('sends wallet events: an entry turned invalid, once per transition', async () => {
    const entry = await req('/wallet/keys', admin, 'POST', { secret: `sk-proj-${crypto.randomBytes(24).toString('hex')}`, service: 'openai', label: 'alerting' });
    expect(entry.status).toBe(201);
    expect(await gw.deps.wallet.markInvalid(entry.body.id, 'upstream 401')).toBe(true);
    expect(await gw.deps.wallet.markInvalid(entry.body.id, 'upstream 401')).toBe(false);
    await gw.deps.alerts.flush();
    const mine = (h: ReceivedHook) => h.json?.type === 'wallet.entry_invalid' && h.json.data.entryId === entry.body.id;
    await eventually(async () => expect(hooksFor(receiver, mine)).toHaveLength(1), 10_000);
    expect(hooksFor(receiver, mine)[0].json.data).toMatchObject({ service: 'openai', label: 'alerting', reason: 'upstream 401' });
    expect(validSig(hooksFor(receiver, mine)[0])).toBe(true);
  });

  it('sends a quota 90 % alert and a free tier exhausted alert once per entry per period', async () => {
    const entry = { id: crypto.randomUUID(), service: 'openai', label: 'free one', tier: 'free' as const, quota: { limit: 10, unit: 'requests' as const, period: 'day' as const } };
    const router = gw.deps.router as unknown as { deps: { walletEvents: { walletEvent: (e: unknown) => void } } };
    const { reportQuotaUse } = await import('../../src/alerts/wallet-events');
    for (const used of [5, 8, 9, 9, 10, 10]) reportQuotaUse(router.deps.walletEvents as never, entry, used, true, Date.now());
    reportQuotaUse(router.deps.walletEvents as never, entry, 10, false, Date.now());
    await gw.deps.alerts.flush();
    const of = (type: string) => (h: ReceivedHook) => h.json?.type === type && h.json.data.entryId === entry.id;
    await eventually(async () => {
      expect(hooksFor(receiver, of('wallet.quota_threshold'))).toHaveLength(1);
      expect(hooksFor(receiver, of('wallet.free_tier_exhausted'))).toHaveLength(1);
    }, 10_000);
    expect(hooksFor(receiver, of('wallet.quota_threshold'))[0].json.data).toMatchObject({ threshold: 90, quota: { used: 9, limit: 10, period: 'day' } });
  });

  it('does not retry a 4xx, retries a connection error, and gives up after the last attempt', async () => {
    const other = await startWebhookReceiver('/other');
    try {
      const created = await req('/webhooks', admin, 'POST', { url: other.url, allowPrivate: true, events: ['budget.threshold'] });
      secrets.push(created.body.secret);
      other.script.push(410);
      const res = await req(`/webhooks/${created.body.id}/test`, admin, 'POST');
      expect(res.body).toMatchObject({ status: 'failed', attempts: 1, lastStatusCode: 410, lastError: 'HTTP 410' });
      expect(other.received).toHaveLength(1);
      // a receiver that is gone: a connection error is retried
      await other.close();
      const gone = await req(`/webhooks/${created.body.id}/test`, admin, 'POST');
      expect(gone.body).toMatchObject({ status: 'pending', nextAttemptAt: expect.any(String) });
      expect(gone.body.lastError).toMatch(/connection error/);
      // the last attempt (here the 2nd of 2) gives up: a row held by this test's own deliverer, out of the gateway's reach
      const far = new Date(Date.now() + 3_600_000);
      const [row] = await insertDeliveries(gw.deps.db, [created.body.id], { id: crypto.randomUUID(), type: 'webhook.test', body: '{}' }, new Date(), 'delivering', far);
      row.attempts = 2;
      await gw.deps.db('webhook_deliveries').where({ id: row.id }).update({ attempts: 2 });
      const limited = new WebhookDeliverer(
        { db: gw.deps.db, clock: gw.deps.clock, logger: gw.deps.logger, metrics: gw.deps.metrics, sealer: gw.deps.wallet.sealer },
        { ...gw.deps.webhooks.opts, maxAttempts: 2 },
      );
      await limited.attempt(row);
      await limited.stop();
      const log = (await req(`/webhooks/${created.body.id}/deliveries`, admin)).body.data.find((d: { id: string }) => d.id === String(row.id));
      expect(log).toMatchObject({ status: 'failed', nextAttemptAt: null, lastError: expect.stringMatching(/gave up after 2 attempts/) });
      expect(log.log.at(-1)).toMatchObject({ attempt: 2, nextRetryAt: null });
      await req(`/webhooks/${created.body.id}`, admin, 'DELETE');
    } finally {
      await other.close().catch(() => undefined);
    }
  });

  it('sends what a node left behind: a pending retry in the table, and a claim whose lease expired (the node died mid-attempt)', async () => {
    const past = new Date(Date.now() - 60_000);
    const left = { id: crypto.randomUUID(), type: 'budget.threshold', body: JSON.stringify({ id: 'x', type: 'budget.threshold', data: { left: 'pending' } }) };
    const died = { id: crypto.randomUUID(), type: 'budget.threshold', body: JSON.stringify({ id: 'y', type: 'budget.threshold', data: { left: 'claimed' } }) };
    await insertDeliveries(gw.deps.db, [hookId], left, past);
    await insertDeliveries(gw.deps.db, [hookId], died, past, 'delivering', past);
    const got = (eventId: string) => receiver.received.filter((h) => h.headers['x-keywallet-event-id'] === eventId);
    await eventually(async () => {
      expect(got(left.id)).toHaveLength(1);
      expect(got(died.id)).toHaveLength(1);
    }, 10_000);
    expect(got(died.id)[0].headers['x-keywallet-delivery-attempt']).toBe('2'); // the lost attempt counts
    expect(validSig(got(left.id)[0])).toBe(true);
    // the receiver answers before the node records the answer
    await eventually(async () => {
      const rows = await gw.deps.db('webhook_deliveries').whereIn('event_id', [left.id, died.id]).pluck('status');
      expect(rows).toEqual(['succeeded', 'succeeded']);
    }, 10_000);
  });

  it('keeps finished deliveries in the log for 30 days, pending ones until they finish', async () => {
    const old = new Date(Date.now() - 31 * 86_400_000);
    const [done] = await insertDeliveries(gw.deps.db, [hookId], { id: crypto.randomUUID(), type: 'budget.threshold', body: '{}' }, old);
    await gw.deps.db('webhook_deliveries').where({ id: done.id }).update({ status: 'succeeded', completed_at: old });
    const [waiting] = await insertDeliveries(gw.deps.db, [hookId], { id: crypto.randomUUID(), type: 'budget.threshold', body: '{}' }, new Date(Date.now() + 86_400_000));
    expect(await gw.deps.webhooks.pruneNow(true)).toBe(1);
    expect(await gw.deps.db('webhook_deliveries').whereIn('id', [done.id, waiting.id]).pluck('status')).toEqual(['pending']);
    await gw.deps.db('webhook_deliveries').where({ id: waiting.id }).delete();
  });

  describe('attackers', () => {
    it('refuses hostile URLs with a clear 400 and creates nothing', async () => {
      const before = Number((await gw.deps.db('webhooks').count({ n: '*' }))[0].n);
      const hostile = [
        'http://169.254.169.254/latest/meta-data/',
        'http://[::ffff:169.254.169.254]/',
        'http://127.0.0.1:1/hook',
        'http://localhost/hook',
        'http://10.0.0.1/hook',
        'file:///etc/passwd',
        'javascript:alert(1)',
        'gopher://example.com/',
        'http://user:pass@93.184.216.34/hook',
        'http://93.184.216.34/hook#frag',
        'http://93.184.216.34/ho ok',
        'http://93.184.216.34/hook\u0000',
        `https://93.184.216.34/${'a'.repeat(3000)}`,
        'not a url',
      ];
      for (const url of hostile) {
        const res = await req('/webhooks', admin, 'POST', { url });
        if (res.status !== 400) throw new Error(`${JSON.stringify(url).slice(0, 80)} answered ${res.status}: ${res.text.slice(0, 200)}`);
        expect(res.body.error).toMatchObject({ code: 'invalid_request', message: expect.any(String) });
      }
      expect((await req('/webhooks', admin, 'POST', { url: 'https://93.184.216.34/hook', events: ['nope'] })).status).toBe(400);
      expect((await req('/webhooks', admin, 'POST', { url: 'https://93.184.216.34/hook', secret: 'whsec_mine' })).status).toBe(400);
      expect((await req(`/webhooks/${hookId}`, admin, 'PATCH', { url: 'http://169.254.169.254/', allowPrivate: false })).status).toBe(400);
      expect(Number((await gw.deps.db('webhooks').count({ n: '*' }))[0].n)).toBe(before);
      expect((await req(`/webhooks/${hookId}`, admin)).body).toMatchObject({ url: receiver.url, allowPrivate: true });
    });

    it('refuses a private address at delivery time when the webhook is not allowed one', async () => {
      const other = await startWebhookReceiver();
      const created = await req('/webhooks', admin, 'POST', { url: other.url, allowPrivate: true });
      secrets.push(created.body.secret);
      await gw.deps.db('webhooks').where({ id: created.body.id }).update({ allow_private: false });
      const res = await req(`/webhooks/${created.body.id}/test`, admin, 'POST');
      expect(res.body).toMatchObject({ status: 'failed', lastError: expect.stringMatching(/private/) });
      expect(other.received).toHaveLength(0);
      await req(`/webhooks/${created.body.id}`, admin, 'DELETE');
      await other.close();
    });

    it('keeps developers, analysts and the unauthenticated out, and team admins inside their own team', async () => {
      const dev = await gw.user('developer');
      const analyst = await gw.user('analyst');
      for (const token of [dev.token, analyst.token]) {
        expect((await req('/webhooks', token)).status).toBe(403);
        expect((await req('/webhooks', token, 'POST', { url: 'https://93.184.216.34/hook' })).status).toBe(403);
        expect((await req(`/webhooks/${hookId}`, token)).status).toBe(403);
        expect((await req(`/webhooks/${hookId}/deliveries`, token)).status).toBe(403);
        expect((await req(`/webhooks/${hookId}/test`, token, 'POST')).status).toBe(403);
        expect((await req(`/webhooks/${hookId}`, token, 'DELETE')).status).toBe(403);
      }
      expect((await req('/webhooks', undefined)).status).toBe(401);
      expect((await req(`/webhooks/${hookId}/test`, undefined, 'POST')).status).toBe(401);

      const alpha = (await req('/teams', admin, 'POST', { name: 'Alpha', slug: `alpha-${crypto.randomBytes(3).toString('hex')}` })).body.id;
      const beta = (await req('/teams', admin, 'POST', { name: 'Beta', slug: `beta-${crypto.randomBytes(3).toString('hex')}` })).body.id;
      const lead = await gw.user('developer');
      expect((await req(`/teams/${alpha}/members`, admin, 'POST', { userId: lead.user.id, role: 'team_admin' })).status).toBe(201);
      // a team admin: their own team's webhook only, budget alerts only, no private addresses
      expect((await req('/webhooks', lead.token, 'POST', { url: 'https://93.184.216.34/hook' })).status).toBe(403);
      expect((await req('/webhooks', lead.token, 'POST', { url: 'https://93.184.216.34/hook', teamId: beta })).status).toBe(403);
      expect((await req('/webhooks', lead.token, 'POST', { url: receiver.url, teamId: alpha, allowPrivate: true })).status).toBe(403);
      expect((await req('/webhooks', lead.token, 'POST', { url: receiver.url, teamId: alpha })).status).toBe(400);
      expect((await req('/webhooks', lead.token, 'POST', { url: 'https://93.184.216.34/hook', teamId: alpha, events: ['wallet.entry_invalid'] })).status).toBe(400);
      const own = await req('/webhooks', lead.token, 'POST', { url: 'https://93.184.216.34/alpha-hook', teamId: alpha });
      expect(own.status).toBe(201);
      expect(own.body.events).toEqual(['budget.threshold']);
      secrets.push(own.body.secret);
      const betaHook = await req('/webhooks', admin, 'POST', { url: 'https://93.184.216.34/beta-hook', teamId: beta, enabled: false });
      expect(betaHook.status).toBe(201);
      secrets.push(betaHook.body.secret);
      expect((await req('/webhooks', lead.token)).body.data.map((w: { id: string }) => w.id)).toEqual([own.body.id]);
      for (const [method, path, body] of [
        ['GET', `/webhooks/${betaHook.body.id}`],
        ['PATCH', `/webhooks/${betaHook.body.id}`, { enabled: true }],
        ['DELETE', `/webhooks/${betaHook.body.id}`],
        ['POST', `/webhooks/${betaHook.body.id}/test`],
        ['POST', `/webhooks/${betaHook.body.id}/secret`],
        ['GET', `/webhooks/${betaHook.body.id}/deliveries`],
        ['GET', `/webhooks/${hookId}`],
      ] as const) {
        const res = await req(path, lead.token, method, body);
        expect([res.status, res.body.error?.code]).toEqual([404, 'not_found']);
      }
      expect((await req(`/webhooks/${betaHook.body.id}`, admin)).body.enabled).toBe(false);
      expect((await req(`/webhooks/${own.body.id}`, lead.token, 'PATCH', { allowPrivate: true })).status).toBe(403);
      expect((await req(`/webhooks/${own.body.id}`, lead.token, 'PATCH', { description: 'ours' })).status).toBe(200);

      // the admin points alpha's webhook at a local receiver: alpha's budget alerts reach it, beta's do not
      const teamReceiver = await startWebhookReceiver('/alpha');
      try {
        expect((await req(`/webhooks/${own.body.id}`, admin, 'PATCH', { url: teamReceiver.url, allowPrivate: true })).status).toBe(200);
        gw.deps.budgetObserver.observe([budget({ scope: 'team', scopeId: alpha, teamId: alpha, spentMicros: 5_000_000 })]);
        gw.deps.budgetObserver.observe([budget({ scope: 'team', scopeId: beta, teamId: beta, spentMicros: 5_000_000 })]);
        await gw.deps.alerts.flush();
        await eventually(async () => expect(teamReceiver.received).toHaveLength(1), 10_000);
        expect(teamReceiver.received[0].json.data).toMatchObject({ scopeId: alpha, threshold: 50 });
        expect(validSig(teamReceiver.received[0], own.body.secret)).toBe(true);
        // rotating the secret: the old one no longer verifies
        const rotated = await req(`/webhooks/${own.body.id}/secret`, lead.token, 'POST');
        expect(rotated.status).toBe(200);
        secrets.push(rotated.body.secret);
        const test = await req(`/webhooks/${own.body.id}/test`, lead.token, 'POST');
        expect(test.body.status).toBe('succeeded');
        const last = teamReceiver.received.at(-1)!;
        expect(validSig(last, rotated.body.secret)).toBe(true);
        expect(validSig(last, own.body.secret)).toBe(false);
      } finally {
        await teamReceiver.close();
      }
      const actions = await gw.deps.db('audit_log').where({ target_type: 'webhook', target_id: own.body.id }).orderBy('id').select('action', 'actor_id');
      expect(actions.map((a: { action: string }) => a.action)).toEqual(['webhook.create', 'webhook.update', 'webhook.update', 'webhook.rotate_secret', 'webhook.test']);
      expect(actions[0].actor_id).toBe(lead.user.id);
    });

    it('never puts a signing secret (or a URL path) in a response after creation, a log line, an audit row, a delivery row or a metric', async () => {
      const withToken = await req('/webhooks', admin, 'POST', { url: 'https://93.184.216.34/services/T000/B000/pathtokenXYZ123456', enabled: false });
      expect(withToken.status).toBe(201);
      secrets.push(withToken.body.secret);
      const created = new Set(secrets);
      const later = responses.filter((r) => ![...created].some((s) => r.includes(s) && /"secret"/.test(r)));
      const sources = {
        responses: later.join('\n'),
        logs: gw.logs.join(''),
        audit: await tableText(gw.deps.db, 'audit_log'),
        alerts: await tableText(gw.deps.db, 'alerts'),
        deliveries: await tableText(gw.deps.db, 'webhook_deliveries'),
        attempts: await tableText(gw.deps.db, 'webhook_delivery_attempts'),
        webhooks: await tableText(gw.deps.db, 'webhooks'),
        metrics: await gw.deps.metrics.registry.metrics(),
      };
      expect(findLeaks(secrets, sources)).toEqual([]);
      expect(sources.audit).not.toContain('pathtokenXYZ123456');
      expect(sources.logs).not.toContain('pathtokenXYZ123456');
      // the answers that carried a secret were exactly the creations and the rotation
      expect(responses.filter((r) => r.includes('"secret":"whsec_')).length).toBe(secrets.length);
    });
  });
});
