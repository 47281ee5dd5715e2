import { loadConfig, ConfigError } from '../../src/config';
import { TEST_BACKEND } from '../helpers/backend';
import { startTestGateway, TEST_JWT_SECRET, TEST_MASTER_KEYS } from '../helpers/gateway';
import { startLlmEnv, LlmTestEnv } from '../helpers/llm';
import { createUserWithKey } from '../helpers/keys';

const CHAT = { model: 'gpt-4o', messages: [{ role: 'user', content: 'Say hello' }] };

/**
 * Issue 14.8: /metrics was open by default and carried a user_id label (who spends what, and one series per user).
 * In production it now needs METRICS_TOKEN or a private METRICS_PORT listener, and no label names a user.
 */
describe(`14.8 metrics are closed in production and carry no per-user label (${TEST_BACKEND})`, () => {
  let env: LlmTestEnv;
  beforeAll(async () => {
    env = await startLlmEnv();
  });
  afterAll(() => env.close());

  it('production refuses to start with /metrics open: METRICS_TOKEN, or METRICS_PORT for a private listener', () => {
    const production = { NODE_ENV: 'production', KEYWALLET_MASTER_KEYS: TEST_MASTER_KEYS, JWT_SECRET: TEST_JWT_SECRET };
    let refused: unknown;
    try {
      loadConfig(production);
    } catch (err) {
      refused = err;
    }
    expect(refused).toBeInstanceOf(ConfigError);
    expect((refused as ConfigError).variable).toBe('METRICS_TOKEN');
    expect(loadConfig({ ...production, METRICS_TOKEN: 'a-metrics-token-of-some-length' }).metricsToken).toBeDefined();
    expect(loadConfig({ ...production, METRICS_PORT: '9464' }).metricsListener).toEqual({ host: '127.0.0.1', port: 9464 });
  });

  it('a priced call shows in the cost metrics by service and model, never by user', async () => {
    const { user, key } = await createUserWithKey(env.gw, 'developer', {}, 'enterprise');
    const chat = await env.gw.request('/v1/chat/completions', { body: CHAT, headers: { authorization: `Bearer ${key}` } });
    expect(chat.status).toBe(200);
    const text = (await env.gw.request('/metrics')).text;
    expect(text).toMatch(/keywallet_cost_usd_total\{service="openai",model="gpt-4o"\} [0-9.e-]+/);
    expect(text).not.toMatch(/user_id=/);
    expect(text).not.toContain(user.id);
    expect(text).not.toContain('keywallet_user_cost_usd_total');
    expect(text).not.toMatch(/kw_(live|test)_/);
  });

  it('with METRICS_PORT the public port does not serve /metrics; the private listener does, behind the token if set', async () => {
    const { startMetricsListener } = await import('../../src/metrics/server');
    const gw = await startTestGateway({ env: { METRICS_PORT: '9464' } });
    try {
      expect((await gw.request('/metrics')).status).toBe(404);
      const listener = await startMetricsListener(gw.deps.metrics.registry, { host: '127.0.0.1', port: 0, token: 'a-metrics-token-of-some-length' });
      try {
        expect((await fetch(listener.url)).status).toBe(401);
        const ok = await fetch(listener.url, { headers: { authorization: 'Bearer a-metrics-token-of-some-length' } });
        expect(ok.status).toBe(200);
        expect(await ok.text()).toContain('keywallet_http_requests_total');
        expect((await fetch(listener.url.replace('/metrics', '/health'))).status).toBe(404);
      } finally {
        await listener.close();
      }
    } finally {
      await gw.close();
    }
  });
});

/** Issue 16.5: the event-loop lag sampled every 10 ms read ~12 ms whatever happened; now a 1 ms histogram. */
describe(`16.5 event-loop delay histogram at 1 ms resolution (${TEST_BACKEND})`, () => {
  it('exports keywallet_event_loop_delay_seconds buckets from 1 ms up, and a stall lands above them', async () => {
    const gw = await startTestGateway();
    try {
      const bucket = (text: string, le: string) => Number(new RegExp(`^keywallet_event_loop_delay_seconds_bucket\\{le="${le.replace('+', '\\+')}"\\} (\\d+)`, 'm').exec(text)?.[1]);
      const before = (await gw.request('/metrics')).text;
      expect(before).toContain('# TYPE keywallet_event_loop_delay_seconds histogram');
      expect(bucket(before, '0.001')).toBeGreaterThanOrEqual(0);
      const stalledBefore = bucket(before, '+Inf') - bucket(before, '0.025');
      const until = performance.now() + 60;
      while (performance.now() < until) {
        /* block the event loop for 60 ms */
      }
      await new Promise((r) => setTimeout(r, 5));
      const after = (await gw.request('/metrics')).text;
      expect(bucket(after, '+Inf') - bucket(after, '0.025')).toBeGreaterThan(stalledBefore);
      expect(bucket(after, '+Inf')).toBeGreaterThan(bucket(before, '+Inf'));
    } finally {
      await gw.close();
    }
  });
});
