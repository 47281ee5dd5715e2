import OpenAI from 'openai';
import { TEST_BACKEND } from '../helpers/backend';
import { startLlmEnv, type LlmTestEnv } from '../helpers/llm';
import { countTokens, readBody } from '../mocks';

async function aliasFallbacks(env: LlmTestEnv): Promise<number> {
  const metric = await env.gw.deps.metrics.registry.getSingleMetric('keywallet_fallbacks_total')!.get();
  return metric.values.filter((v) => v.labels.reason === 'alias' && v.labels.service === 'anthropic').reduce((n, v) => n + v.value, 0);
}

describe(`model aliases fall back across services (${TEST_BACKEND})`, () => {
  let env: LlmTestEnv;
  let client: OpenAI;

  beforeAll(async () => {
    env = await startLlmEnv();
    client = new OpenAI({ baseURL: `${env.gw.url}/v1`, apiKey: env.key, maxRetries: 0 });
  });
  afterAll(() => env.close());
  beforeEach(() => {
    env.openai.reset();
    env.anthropic.reset();
  });

  it('serves the same request from OpenAI when every Anthropic entry answers 529 overloaded', async () => {
    const second = await env.addEntry('anthropic', { priority: 200 });
    env.anthropic.fail({ kind: 'status', status: 529 });
    const before = await aliasFallbacks(env);

    const { data, response } = await client.chat.completions
      .create({ model: 'claude-fast', messages: [{ role: 'user', content: 'Are you there?' }] })
      .withResponse();
    expect(data.choices[0].message.content).toBe('mock-openai reply to: Are you there?');
    expect(data.model).toBe('gpt-5-mini');
    expect(env.anthropic.requests.map((r) => r.credential).sort()).toEqual([env.secrets.anthropic, second.secret].sort());
    expect(env.openai.requests).toHaveLength(1);
    expect(env.openai.requests[0].body.model).toBe('gpt-5-mini');

    expect(response.headers.get('x-keywallet-attempts')).toBe('3');
    expect(response.headers.get('x-keywallet-provider-key')).toBe(env.entryIds.openai);
    expect(response.headers.get('x-keywallet-route')).toMatch(/^anthropic\/claude-haiku-4-5: upstream_failed \| openai\/gpt-5-mini: /);
    expect(await aliasFallbacks(env)).toBe(before + 1);

    const row = await env.usageOf(response.headers.get('x-request-id')!);
    expect(row).toMatchObject({
      service: 'openai',
      model: 'gpt-5-mini',
      wallet_entry_id: env.entryIds.openai,
      attempts: 3,
      status: 200,
      prompt_tokens: countTokens('Are you there?'),
      estimated: false,
    });
    // priced as gpt-5-mini ($0.25 / $2), the model that served
    expect(Number(row.cost_micros)).toBe(Math.round(row.prompt_tokens * 0.25 + row.completion_tokens * 2));
    env.anthropic.clearFaults();
  });

  it('falls back for a stream too, before its first byte', async () => {
    // The entries of the first test are cooling down; this one is fresh and overloaded as well.
    const fresh = await env.addEntry('anthropic');
    env.anthropic.fail({ kind: 'status', status: 529 }, { credential: fresh.secret });
    const res = await fetch(`${env.gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${env.key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'claude-fast', stream: true, messages: [{ role: 'user', content: 'stream?' }] }),
    });
    expect(res.status).toBe(200);
    const { text } = await readBody(res);
    expect(text).toContain('"model":"gpt-5-mini"');
    expect(text.trimEnd().endsWith('data: [DONE]')).toBe(true);
    expect(env.anthropic.requests.map((r) => r.credential)).toEqual([fresh.secret]);
    expect(res.headers.get('x-keywallet-attempts')).toBe('2');
    env.anthropic.clearFaults();
  });

  it('a custom LLM service speaks OpenAI by default, or Anthropic when its metadata says so', async () => {
    for (const [slug, mock, metadata] of [
      ['local-vllm', env.openai, { models: ['qwen2.5-7b'] }],
      ['claude-relay', env.anthropic, { protocol: 'anthropic' }],
    ] as const) {
      const created = await env.gw.request('/services', {
        method: 'POST',
        token: env.adminToken,
        // A base URL ending in /v1, as OpenAI-compatible servers document it, gets no second /v1.
        body: { slug, kind: 'llm', baseUrl: `${mock.url}/v1`, auth: { type: 'bearer' }, allowPrivate: true, metadata },
      });
      expect(created.status).toBe(201);
      const entry = await env.gw.request('/wallet/keys', { method: 'POST', token: env.adminToken, body: { secret: `local-secret-${slug}-0123456789`, service: slug, label: slug } });
      expect(entry.status).toBe(201);
    }
    const local = await client.chat.completions.create({ model: 'qwen2.5-7b', messages: [{ role: 'user', content: 'local?' }] });
    expect(local.choices[0].message.content).toBe('mock-openai reply to: local?');
    expect(env.openai.requests[0]).toMatchObject({ path: '/v1/chat/completions', credential: 'local-secret-local-vllm-0123456789', body: { model: 'qwen2.5-7b' } });

    const relayed = await client.chat.completions.create({ model: 'claude-relay/claude-haiku-4-5', messages: [{ role: 'user', content: 'relay?' }] });
    expect(relayed.choices[0].message.content).toBe('mock-anthropic reply to: relay?');
    expect(env.anthropic.requests[0]).toMatchObject({ path: '/v1/messages', credential: 'local-secret-claude-relay-0123456789' });
  });

  it('a custom service without any wallet entry answers 503 in the OpenAI shape', async () => {
    await env.gw.request('/services', {
      method: 'POST',
      token: env.adminToken,
      body: { slug: 'empty-llm', kind: 'llm', baseUrl: env.openai.url, auth: { type: 'bearer' }, allowPrivate: true },
    });
    const err = await client.chat.completions.create({ model: 'empty-llm/some-model', messages: [{ role: 'user', content: 'x' }] }).catch((e) => e);
    expect(err).toBeInstanceOf(OpenAI.APIError);
    expect(err.status).toBe(503);
    expect(err.error).toMatchObject({ type: 'service_unavailable', code: 'no_provider_key' });
  });

  it('a model without an alias fails with 502 after every entry failed, naming attempts but no secret', async () => {
    env.openai.fail({ kind: 'status', status: 500 });
    const res = await env.gw.request('/v1/chat/completions', { token: env.key, body: { model: 'gpt-4o', messages: [{ role: 'user', content: 'x' }] } });
    env.openai.clearFaults();
    expect(res.status).toBe(502);
    expect(res.body.error).toMatchObject({ type: 'upstream_error', code: 'upstream_failed' });
    expect(res.body.error.message).toContain(env.entryIds.openai);
    expect(res.text).not.toContain(env.secrets.openai);
    expect(res.headers.get('x-keywallet-attempts')).toBe('1');
    expect(await env.usageOf(res.headers.get('x-request-id')!)).toMatchObject({ status: 502, error_code: 'upstream_failed', cost_micros: expect.anything() });
  });

  it('logs what each failed attempt met (status or error code) when routing falls back, and no secret', async () => {
    // two fresh entries ranked before the others: one drops the connection, the other answers 503
    const dropping = await env.addEntry('openai', { priority: 1 });
    const failing = await env.addEntry('openai', { priority: 2 });
    env.openai.fail({ kind: 'drop' }, { credential: dropping.secret });
    env.openai.fail({ kind: 'status', status: 503 }, { credential: failing.secret });
    const res = await env.gw.request('/v1/chat/completions', { token: env.key, body: { model: 'gpt-4o', messages: [{ role: 'user', content: 'x' }] } });
    env.openai.clearFaults();
    const requestId = res.headers.get('x-request-id')!;
    const line = env.gw.logs.find((l) => l.includes('routing fell back') && l.includes(requestId));
    expect(line).toBeDefined();
    const causes = JSON.parse(line!).causes as { entryId: string; outcome: string; status?: number; cause?: string }[];
    const dropped = causes.find((c) => c.entryId === dropping.id);
    const refused = causes.find((c) => c.entryId === failing.id);
    expect(dropped).toMatchObject({ outcome: 'connection_error', cause: expect.stringMatching(/^[A-Z][A-Z0-9_]+$/) });
    expect(refused).toMatchObject({ outcome: 'server_error', status: 503 });
    expect(line).not.toContain(dropping.secret);
    expect(line).not.toContain(failing.secret);
  });
});
