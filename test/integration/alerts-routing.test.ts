import { TEST_BACKEND } from '../helpers/backend';
import { eventually } from '../helpers/keys';
import { startLlmEnv, type LlmTestEnv } from '../helpers/llm';
import { startWebhookReceiver, type ReceivedHook, type WebhookReceiver } from '../helpers/webhook-receiver';
import { verifySignature } from '../../src/webhooks/signing';

/** Issue 17: wallet events reported by the router on real calls reach a webhook once per entry per period. */
jest.setTimeout(60_000); // the project config's testTimeout is not applied (jest reads it globally only)

describe(`wallet alerts from routed calls (${TEST_BACKEND})`, () => {
  let env: LlmTestEnv;
  let receiver: WebhookReceiver;
  let secret: string;

  beforeAll(async () => {
    env = await startLlmEnv();
    receiver = await startWebhookReceiver();
    const hook = await env.gw.request('/webhooks', { method: 'POST', token: env.adminToken, body: { url: receiver.url, allowPrivate: true, events: ['wallet.quota_threshold', 'wallet.free_tier_exhausted'] } });
    expect(hook.status).toBe(201);
    secret = hook.body.secret;
  }, 120_000);
  afterAll(async () => {
    await env.close();
    await receiver.close();
  });

  const chat = () =>
    fetch(`${env.gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${env.key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }], max_tokens: 5 }),
    });

  it('sends "quota 90 % used" and "free tier used up" once each while calls move on to the paid entry', async () => {
    const free = await env.addEntry('openai', { tier: 'free', priority: 0, quota: { limit: 10, unit: 'requests', period: 'day' } });
    const served: string[] = [];
    for (let i = 0; i < 14; i++) {
      const res = await chat();
      expect(res.status).toBe(200);
      served.push(res.headers.get('x-keywallet-provider-key')!);
    }
    expect(served.filter((id) => id === free.id)).toHaveLength(10);
    expect(served.slice(10).every((id) => id === env.entryIds.openai)).toBe(true);
    await env.gw.deps.alerts.flush();
    const of = (type: string) => (h: ReceivedHook) => h.json?.type === type && h.json.data.entryId === free.id;
    await eventually(async () => {
      expect(receiver.received.filter(of('wallet.quota_threshold'))).toHaveLength(1);
      expect(receiver.received.filter(of('wallet.free_tier_exhausted'))).toHaveLength(1);
    }, 10_000);
    const [nearly] = receiver.received.filter(of('wallet.quota_threshold'));
    expect(nearly.json.data).toMatchObject({ service: 'openai', tier: 'free', threshold: 90, quota: { unit: 'requests', period: 'day', used: 9, limit: 10 } });
    expect(verifySignature(secret, String(nearly.headers['x-keywallet-signature']), nearly.body, Math.floor(Date.now() / 1000))).toBe(true);
    // the paid entry has no quota: nothing about it
    expect(receiver.received.filter((h) => h.json?.data?.entryId === env.entryIds.openai)).toEqual([]);
    expect(await env.gw.deps.db('alerts').where({ scope: 'wallet_entry', scope_id: free.id }).orderBy('kind').pluck('kind')).toEqual(['wallet.free_tier_exhausted', 'wallet.quota_threshold']);
  });
});
