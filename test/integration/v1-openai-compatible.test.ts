import OpenAI from 'openai';
import { TEST_BACKEND } from '../helpers/backend';
import { fakeSecret } from '../helpers/fake-secrets';
import { startLlmEnv, type LlmTestEnv } from '../helpers/llm';
import { countTokens } from '../mocks';

/** Completions, moderations, images, and the OpenAI-compatible providers: presets, Azure, a self-hosted server. */
describe(`OpenAI-compatible surfaces and providers (${TEST_BACKEND})`, () => {
  let env: LlmTestEnv;
  let client: OpenAI;

  beforeAll(async () => {
    env = await startLlmEnv();
    client = new OpenAI({ baseURL: `${env.gw.url}/v1`, apiKey: env.key, maxRetries: 0 });
  });
  afterAll(() => env.close());
  beforeEach(() => env.openai.reset());

  const admin = (path: string, method: string, body?: unknown) => env.gw.request(path, { method, token: env.adminToken, body });
  const pointAtMock = async (slug: string) => {
    const res = await admin(`/services/${slug}`, 'PATCH', { baseUrl: env.openai.url, allowPrivate: true });
    expect(res.status).toBe(200);
  };
  const addEntry = async (body: Record<string, unknown>) => {
    const res = await admin('/wallet/keys', 'POST', { label: 'compat', tier: 'paid', priority: 10, ...body });
    expect(res.status).toBe(201);
    return res.body as { id: string; service: string };
  };

  it('serves legacy completions, billed from the reported usage', async () => {
    const { data, response } = await client.completions.create({ model: 'gpt-3.5-turbo-instruct', prompt: 'Say hi', max_tokens: 30 }).withResponse();
    expect(data.choices[0].text).toBe('mock-openai completion of: Say hi');
    expect(env.openai.requests[0].path).toBe('/v1/completions');
    const row = await env.usageOf(response.headers.get('x-request-id')!);
    expect(row).toMatchObject({ surface: 'completions', service: 'openai', prompt_tokens: data.usage!.prompt_tokens, completion_tokens: data.usage!.completion_tokens, estimated: false });
    expect(Number(row.cost_micros)).toBe(Math.round(data.usage!.prompt_tokens * 2.5 + data.usage!.completion_tokens * 10)); // gpt-* price row
  });

  it('streams legacy completions, asking the upstream for usage and keeping it from a client that did not', async () => {
    const { data: stream, response } = await client.completions.create({ model: 'gpt-3.5-turbo-instruct', prompt: 'Stream', stream: true }).withResponse();
    let text = '';
    const chunks: OpenAI.Completion[] = [];
    for await (const chunk of stream) {
      chunks.push(chunk);
      text += chunk.choices[0]?.text ?? '';
    }
    expect(text).toBe('mock-openai completion of: Stream');
    expect(chunks.some((c) => c.usage)).toBe(false);
    expect(env.openai.requests[0].body.stream_options).toEqual({ include_usage: true });
    const row = await env.usageOf(response.headers.get('x-request-id')!);
    expect(row).toMatchObject({ surface: 'completions', stream: true, estimated: false, completion_tokens: countTokens(text) });
  });

  it('serves moderations (the default model when none is named), at no cost', async () => {
    const { data, response } = await client.moderations.create({ input: ['I will kill the process', 'hello'] }).withResponse();
    expect(data.results.map((r) => r.flagged)).toEqual([true, false]);
    expect(env.openai.requests[0].body.model).toBe('omni-moderation-latest');
    const row = await env.usageOf(response.headers.get('x-request-id')!);
    expect(row).toMatchObject({ surface: 'moderations', service: 'openai', status: 200 });
    expect(Number(row.cost_micros)).toBe(0);
  });

  it('generates images and records the tokens a gpt-image model reports', async () => {
    const { data, response } = await client.images.generate({ model: 'gpt-image-1', prompt: 'a small cat', n: 2 }).withResponse();
    expect(data.data).toHaveLength(2);
    expect(data.data![0].b64_json).toMatch(/^iVBOR/);
    const row = await env.usageOf(response.headers.get('x-request-id')!);
    expect(row).toMatchObject({ surface: 'images', prompt_tokens: countTokens('a small cat'), completion_tokens: 544 });
  });

  it('refuses an Anthropic model on OpenAI-only surfaces before any upstream call', async () => {
    const res = await env.gw.request('/v1/completions', { method: 'POST', headers: { authorization: `Bearer ${env.key}` }, body: { model: 'claude-haiku-4-5', prompt: 'x' } });
    expect(res.status).toBe(400);
    expect(env.openai.requests).toHaveLength(0);
    expect(env.anthropic.requests).toHaveLength(0);
  });

  it('reaches a preset (Groq) under its own path prefix, detecting its key format and pricing its model', async () => {
    await pointAtMock('groq');
    const secret = fakeSecret.groq();
    const entry = await addEntry({ secret }); // no service: detected from gsk_
    expect(entry.service).toBe('groq');
    const { data, response } = await client.chat.completions.create({ model: 'groq/llama-3.3-70b-versatile', messages: [{ role: 'user', content: 'Hi Groq' }] }).withResponse();
    expect(data.choices[0].message.content).toContain('Hi Groq');
    const upstream = env.openai.requests[0];
    expect(upstream.path).toBe('/openai/v1/chat/completions');
    expect(upstream.credential).toBe(secret);
    expect(response.headers.get('x-keywallet-provider-key')).toBe(entry.id);
    const row = await env.usageOf(response.headers.get('x-request-id')!);
    expect(Number(row.cost_micros)).toBe(Math.round(row.prompt_tokens * 0.59 + row.completion_tokens * 0.79));
  });

  it('reaches Gemini through its OpenAI-compatible endpoint with x-goog-api-key, and serves a bare gemini-* name', async () => {
    await pointAtMock('gemini');
    const secret = fakeSecret.gemini();
    await addEntry({ secret, service: 'gemini' });
    const res = await client.chat.completions.create({ model: 'gemini-2.5-flash', messages: [{ role: 'user', content: 'Hi Gemini' }] });
    expect(res.choices[0].message.content).toContain('Hi Gemini');
    const upstream = env.openai.requests[0];
    expect(upstream.path).toBe('/v1beta/openai/chat/completions');
    expect(upstream.headers['x-goog-api-key']).toBe(secret);
    expect(upstream.headers.authorization).toBeUndefined();
    // native generateContent through the raw pass-through, on the base URL itself, with the same credential
    const native = await fetch(`${env.gw.url}/proxy/gemini/v1beta/models/gemini-2.5-flash:generateContent`, {
      method: 'POST',
      headers: { authorization: `Bearer ${env.key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ contents: [{ parts: [{ text: 'Hi' }] }] }),
    });
    await native.text();
    const raw = env.openai.requests.at(-1)!;
    expect(raw.path).toBe('/v1beta/models/gemini-2.5-flash:generateContent');
    expect(raw.headers['x-goog-api-key']).toBe(secret);
    expect(native.headers.get('x-keywallet-provider-key')).toBeTruthy();
  });

  it('reaches an Azure OpenAI deployment: deployment name in the path, api-key header, api-version query', async () => {
    const created = await admin('/services', 'POST', {
      slug: 'azure-east',
      kind: 'llm',
      baseUrl: env.openai.url,
      allowPrivate: true,
      auth: { type: 'header', name: 'api-key' },
      metadata: { protocol: 'azure', apiVersion: '2024-10-21' },
    });
    expect(created.status).toBe(201);
    const secret = fakeSecret.azure();
    const entry = await addEntry({ secret, service: 'azure-east', metadata: { deployments: { 'gpt-4o': 'prod-4o' } } });
    const { data, response } = await client.chat.completions.create({ model: 'azure-east/gpt-4o', messages: [{ role: 'user', content: 'Hi Azure' }] }).withResponse();
    expect(data.choices[0].message.content).toContain('Hi Azure');
    const upstream = env.openai.requests[0];
    expect(upstream.path).toBe('/openai/deployments/prod-4o/chat/completions');
    expect(upstream.query).toEqual({ 'api-version': '2024-10-21' });
    expect(upstream.headers['api-key']).toBe(secret);
    expect(upstream.headers.authorization).toBeUndefined();
    expect(response.headers.get('x-keywallet-provider-key')).toBe(entry.id);
    // a model without a mapping uses its own name as the deployment
    await client.embeddings.create({ model: 'azure-east/text-embedding-3-small', input: 'x' });
    expect(env.openai.requests[1].path).toBe('/openai/deployments/text-embedding-3-small/embeddings');
  });

  it('serves an admin-defined OpenAI-compatible server on a private address only with the explicit opt-in', async () => {
    const refused = await admin('/services', 'POST', { slug: 'local-vllm', kind: 'llm', baseUrl: env.openai.url, auth: { type: 'bearer' } });
    expect(refused.status).toBe(400);
    const created = await admin('/services', 'POST', { slug: 'local-vllm', kind: 'llm', baseUrl: `${env.openai.url}/v1`, auth: { type: 'bearer' }, allowPrivate: true });
    expect(created.status).toBe(201);
    const secret = `vllm-${fakeSecret.openweather()}`;
    await addEntry({ secret, service: 'local-vllm' });
    const res = await client.chat.completions.create({ model: 'local-vllm/meta-llama/Llama-3.1-8B-Instruct', messages: [{ role: 'user', content: 'Hi vLLM' }] });
    expect(res.choices[0].message.content).toContain('Hi vLLM');
    expect(env.openai.requests[0].path).toBe('/v1/chat/completions');
    expect(env.openai.requests[0].body.model).toBe('meta-llama/Llama-3.1-8B-Instruct');
    expect(env.openai.requests[0].credential).toBe(secret);
  });

  it('refuses service metadata that would bend an upstream path', async () => {
    for (const metadata of [{ llmPathPrefix: '/../admin' }, { llmPathPrefix: 'http://evil.example' }, { protocol: 'soap' }, { apiVersion: '1?x=y' }]) {
      const res = await admin('/services', 'POST', { slug: 'bent', kind: 'llm', baseUrl: 'https://api.example.com', auth: { type: 'bearer' }, metadata });
      expect(res.status).toBe(400);
    }
    expect((await admin('/services/bent', 'GET')).status).toBe(404);
  });
});
