import { TEST_BACKEND } from '../helpers/backend';
import { createGatewayKey, eventually } from '../helpers/keys';
import { startLlmEnv, type LlmTestEnv } from '../helpers/llm';
import { startSecondNode, type GatewayNode } from '../helpers/second-node';
import { startWebhookReceiver, type ReceivedHook, type WebhookReceiver } from '../helpers/webhook-receiver';
import { verifySignature } from '../../src/webhooks/signing';

/**
 * Issue 17, end to end: calls through two gateway nodes spend a key's monthly credits; the budgets report each level
 * after settling, and the 50 % and 80 % alerts reach the webhook once each, signed, whichever node crossed them.
 */
jest.setTimeout(60_000); // the project config's testTimeout is not applied (jest reads it globally only)

describe(`budget alerts from real calls on two nodes (${TEST_BACKEND})`, () => {
  let env: LlmTestEnv;
  let second: GatewayNode;
  let receiver: WebhookReceiver;
  let secret: string;

  beforeAll(async () => {
    env = await startLlmEnv();
    second = await startSecondNode(env.gw, { KEYWALLET_MASTER_KEYS: env.gw.config.masterKeys });
    receiver = await startWebhookReceiver();
    const hook = await env.gw.request('/webhooks', { method: 'POST', token: env.adminToken, body: { url: receiver.url, allowPrivate: true, events: ['budget.threshold'] } });
    expect(hook.status).toBe(201);
    secret = hook.body.secret;
  }, 120_000);
  afterAll(async () => {
    await second.close();
    await env.close();
    await receiver.close();
  });

  it('crosses 50 % and 80 % of a key budget with calls on both nodes and alerts once per threshold', async () => {
    const { user, token } = await env.gw.user('developer', undefined, 'enterprise');
    const { key, id: keyId } = await createGatewayKey(env.gw, token, { monthlyCredits: 0.002 });
    let refused = false;
    for (let round = 0; round < 40 && !refused; round++) {
      const answers = await Promise.all([
        env.gw.request('/v1/chat/completions', { headers: { authorization: `Bearer ${key}` }, body: { model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }], max_tokens: 5 } }),
        second.request('/v1/chat/completions', { headers: { authorization: `Bearer ${key}` }, body: { model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }], max_tokens: 5 } }),
      ]);
      for (const a of answers) {
        if (a.status === 402) refused = true;
        else expect(a.status).toBe(200);
      }
    }
    expect(refused).toBe(true);
    await Promise.all([env.gw.deps.alerts.flush(), second.deps.alerts.flush()]);
    const mine = (t: number) => (h: ReceivedHook) => h.json?.type === 'budget.threshold' && h.json.data.scope === 'key' && h.json.data.scopeId === keyId && h.json.data.threshold === t;
    await eventually(async () => {
      expect(receiver.received.filter(mine(50))).toHaveLength(1);
      expect(receiver.received.filter(mine(80))).toHaveLength(1);
    }, 10_000);
    const [eighty] = receiver.received.filter(mine(80));
    expect(eighty.json.data).toMatchObject({ budgetUsd: 0.002, period: new Date().toISOString().slice(0, 7) });
    expect(eighty.json.data.percent).toBeGreaterThanOrEqual(80);
    expect(verifySignature(secret, String(eighty.headers['x-keywallet-signature']), eighty.body, Math.floor(Date.now() / 1000))).toBe(true);
    // the user's own budget (the enterprise plan's credits) is far from any threshold: nothing about it
    expect(receiver.received.filter((h) => h.json?.data?.scope === 'user' && h.json.data.scopeId === user.id)).toEqual([]);
    expect(await env.gw.deps.db('alerts').where({ kind: 'budget.threshold', scope: 'key', scope_id: keyId }).whereIn('threshold', [50, 80]).count({ n: '*' }).then((r) => Number(r[0].n))).toBe(2);
  });
});
