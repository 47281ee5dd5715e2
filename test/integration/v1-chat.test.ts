import OpenAI from 'openai';
import { TEST_BACKEND } from '../helpers/backend';
import { createUserWithKey } from '../helpers/keys';
import { startLlmEnv, type LlmTestEnv } from '../helpers/llm';
import { countTokens, TOOL_ARGUMENTS } from '../mocks';
import { findLeaks } from '../helpers/secret-scan';

const PNG_1PX = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=';

describe(`POST /v1/chat/completions, non-streaming (${TEST_BACKEND})`, () => {
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

  it('passes an OpenAI model through, with the usage the provider reported', async () => {
    const { data, response } = await client.chat.completions
      .create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'Say hello' }], max_tokens: 50 })
      .withResponse();
    expect(data.choices[0].message.content).toBe('mock-openai reply to: Say hello');
    expect(data.model).toBe('gpt-4o');
    const expectedCompletion = countTokens('mock-openai reply to: Say hello');
    expect(data.usage).toMatchObject({ prompt_tokens: countTokens('Say hello'), completion_tokens: expectedCompletion });

    const upstream = env.openai.requests[0];
    expect(upstream.body).toEqual({ model: 'gpt-4o', messages: [{ role: 'user', content: 'Say hello' }], max_tokens: 50 });
    expect(upstream.credential).toBe(env.secrets.openai);
    expect(JSON.stringify(upstream.headers)).not.toContain(env.key);

    expect(response.headers.get('x-keywallet-provider-key')).toBe(env.entryIds.openai);
    expect(response.headers.get('x-keywallet-attempts')).toBe('1');
    expect(response.headers.get('x-keywallet-route')).toMatch(/^openai\/gpt-4o: /);
    expect(response.headers.get('x-ratelimit-limit-requests')).toBeTruthy();
    const requestId = response.headers.get('x-request-id')!;
    const row = await env.usageOf(requestId);
    expect(row).toMatchObject({
      surface: 'chat',
      service: 'openai',
      model: 'gpt-4o',
      status: 200,
      wallet_entry_id: env.entryIds.openai,
      prompt_tokens: data.usage!.prompt_tokens,
      completion_tokens: data.usage!.completion_tokens,
      estimated: false,
      stream: false,
      attempts: 1,
    });
    // gpt-4o: $2.50 / $10 per million tokens
    expect(Number(row.cost_micros)).toBe(Math.round(data.usage!.prompt_tokens * 2.5 + data.usage!.completion_tokens * 10));
  });

  it('translates an Anthropic alias both ways, naming the model that answered', async () => {
    const { data, response } = await client.chat.completions
      .create({
        model: 'claude-fast',
        messages: [
          { role: 'system', content: 'Be brief.' },
          { role: 'user', content: 'Hello there' },
        ],
        temperature: 0.3,
      })
      .withResponse();
    expect(data.object).toBe('chat.completion');
    expect(data.model).toBe('claude-haiku-4-5');
    expect(data.choices[0]).toMatchObject({ message: { role: 'assistant', content: 'mock-anthropic reply to: Hello there' }, finish_reason: 'stop' });

    const upstream = env.anthropic.requests[0];
    expect(upstream.path).toBe('/v1/messages');
    expect(upstream.headers['anthropic-version']).toBe('2023-06-01');
    expect(upstream.headers['x-api-key']).toBe(env.secrets.anthropic);
    expect(upstream.body).toMatchObject({ model: 'claude-haiku-4-5', system: 'Be brief.', temperature: 0.3, max_tokens: 4096 });
    expect(env.openai.requests).toHaveLength(0);

    const prompt = countTokens('Be brief.' + 'Hello there');
    const completion = countTokens('mock-anthropic reply to: Hello there');
    expect(data.usage).toMatchObject({ prompt_tokens: prompt, completion_tokens: completion });
    const row = await env.usageOf(response.headers.get('x-request-id')!);
    expect(row).toMatchObject({ service: 'anthropic', model: 'claude-haiku-4-5', prompt_tokens: prompt, completion_tokens: completion, estimated: false });
    expect(Number(row.cost_micros)).toBe(Math.round(prompt * 1 + completion * 5));
  });

  it.each(['gpt-4o', 'claude-fast'])('round-trips a tool call through %s', async (model) => {
    const tools: OpenAI.ChatCompletionTool[] = [
      {
        type: 'function',
        function: { name: 'get_weather', description: 'Weather for a city', parameters: { type: 'object', properties: { location: { type: 'string' } }, required: ['location'] } },
      },
    ];
    const messages: OpenAI.ChatCompletionMessageParam[] = [{ role: 'user', content: 'Weather in Paris?' }];
    const first = await client.chat.completions.create({ model, messages, tools });
    expect(first.choices[0].finish_reason).toBe('tool_calls');
    const call = first.choices[0].message.tool_calls![0] as OpenAI.ChatCompletionMessageFunctionToolCall;
    expect(call.function.name).toBe('get_weather');
    expect(JSON.parse(call.function.arguments)).toEqual(JSON.parse(TOOL_ARGUMENTS));

    const second = await client.chat.completions.create({
      model,
      tools,
      messages: [...messages, first.choices[0].message, { role: 'tool', tool_call_id: call.id, content: '18°C and sunny' }],
    });
    expect(second.choices[0].finish_reason).toBe('stop');
    expect(second.choices[0].message.content).toMatch(/tool result: 18°C and sunny$/);
    if (model === 'claude-fast') {
      const sent = env.anthropic.requests[1].body;
      expect(sent.messages[1]).toMatchObject({ role: 'assistant', content: [{ type: 'tool_use', id: call.id, name: 'get_weather', input: { location: 'Paris' } }] });
      expect(sent.messages[2]).toMatchObject({ role: 'user', content: [{ type: 'tool_result', tool_use_id: call.id }] });
    }
  });

  it('sends an image part (data URL) to Anthropic as a base64 image block', async () => {
    const res = await client.chat.completions.create({
      model: 'anthropic/claude-haiku-4-5',
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'What is this?' },
            { type: 'image_url', image_url: { url: `data:image/png;base64,${PNG_1PX}` } },
          ],
        },
      ],
    });
    expect(res.choices[0].message.content).toBe('mock-anthropic reply to: What is this?');
    expect(env.anthropic.requests[0].body.messages[0].content).toEqual([
      { type: 'text', text: 'What is this?' },
      { type: 'image', source: { type: 'base64', media_type: 'image/png', data: PNG_1PX } },
    ]);
  });

  it('passes JSON mode to OpenAI and turns it into an instruction for Anthropic', async () => {
    const openaiAnswer = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'json please' }], response_format: { type: 'json_object' } });
    expect(JSON.parse(openaiAnswer.choices[0].message.content!)).toEqual({ reply: 'mock-openai reply to: json please' });
    await client.chat.completions.create({ model: 'claude-haiku-4-5', messages: [{ role: 'user', content: 'json please' }], response_format: { type: 'json_object' } });
    expect(env.anthropic.requests[0].body.system).toMatch(/JSON/);
  });

  it('answers an unknown model with 404 model_not_found in the OpenAI shape', async () => {
    const err = await client.chat.completions.create({ model: 'nonesuch-large', messages: [{ role: 'user', content: 'x' }] }).catch((e) => e);
    expect(err).toBeInstanceOf(OpenAI.NotFoundError);
    expect(err.status).toBe(404);
    expect(err.error).toMatchObject({ code: 'model_not_found', param: 'model' });
    expect(err.message).toMatch(/nonesuch-large/);
    expect(env.openai.requests).toHaveLength(0);
  });

  it('answers a model outside the key allow-list with 403 in the OpenAI shape', async () => {
    const { key } = await createUserWithKey(env.gw, 'developer', { models: ['gpt-4o'] }, 'enterprise');
    const limited = new OpenAI({ baseURL: `${env.gw.url}/v1`, apiKey: key, maxRetries: 0 });
    expect((await limited.chat.completions.create({ model: 'openai/gpt-4o', messages: [{ role: 'user', content: 'ok' }] })).model).toBe('gpt-4o');
    const err = await limited.chat.completions.create({ model: 'claude-fast', messages: [{ role: 'user', content: 'x' }] }).catch((e) => e);
    expect(err).toBeInstanceOf(OpenAI.PermissionDeniedError);
    expect(err.error).toMatchObject({ type: 'permission_error', code: 'forbidden' });
    expect(env.anthropic.requests).toHaveLength(0);
  });

  it('refuses a key without the chat scope, and records the refusal', async () => {
    const { key } = await createUserWithKey(env.gw, 'developer', { scopes: ['models'] }, 'enterprise');
    const res = await env.gw.request('/v1/chat/completions', { token: key, body: { model: 'gpt-4o', messages: [{ role: 'user', content: 'x' }] } });
    expect(res.status).toBe(403);
    expect(res.body.error).toMatchObject({ type: 'permission_error' });
    expect(await env.usageOf(res.headers.get('x-request-id')!)).toMatchObject({ status: 403, error_code: 'forbidden', surface: 'chat' });
  });

  it('passes an upstream 400 through as a final answer, and a translation it cannot make as a 400', async () => {
    env.openai.fail({ kind: 'status', status: 400, body: { error: { message: 'bad param', type: 'invalid_request_error', code: null, param: 'logit_bias' } } }, { times: 1 });
    const err = await client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'x' }] }).catch((e) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect(err.error).toMatchObject({ message: 'bad param', param: 'logit_bias' });
    const n2 = await client.chat.completions.create({ model: 'claude-haiku-4-5', n: 2, messages: [{ role: 'user', content: 'x' }] }).catch((e) => e);
    expect(n2).toBeInstanceOf(OpenAI.BadRequestError);
    expect(n2.error).toMatchObject({ param: 'n' });
    expect(env.anthropic.requests).toHaveLength(0);
  });

  it('skips an alias target that cannot express the request: the next one serves it', async () => {
    const { data, response } = await client.chat.completions.create({ model: 'claude-fast', n: 2, messages: [{ role: 'user', content: 'two please' }] }).withResponse();
    expect(data.model).toBe('gpt-5-mini');
    expect(env.anthropic.requests).toHaveLength(0);
    expect(env.openai.requests[0].body).toMatchObject({ model: 'gpt-5-mini', n: 2 });
    expect(response.headers.get('x-keywallet-route')).toMatch(/^anthropic\/claude-haiku-4-5: unsupported \| openai\/gpt-5-mini: /);
  });

  it('validates the body in the OpenAI shape', async () => {
    const res = await env.gw.request('/v1/chat/completions', { token: env.key, body: { model: 'gpt-4o', messages: [] } });
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ type: 'invalid_request_error', code: 'invalid_request' });
  });
  it('settles a wallet entry quota counted in tokens to the tokens really used', async () => {
    const metered = await env.addEntry('openai', { priority: 1, quota: { limit: 100_000, unit: 'tokens', period: 'day' } });
    try {
      const res = await client.chat.completions.create({ model: 'gpt-4o', max_tokens: 500, messages: [{ role: 'user', content: 'Count me' }] });
      expect(env.openai.requests[0].credential).toBe(metered.secret);
      const entry = await env.gw.request(`/wallet/keys/${metered.id}`, { token: env.adminToken });
      // reserved: the prompt estimate + 500; settled: what the provider reported
      expect(entry.body.quota).toMatchObject({ unit: 'tokens', used: res.usage!.total_tokens });
    } finally {
      await env.gw.request(`/wallet/keys/${metered.id}`, { method: 'DELETE', token: env.adminToken });
    }
  });
  it("admits a call with its wallet entry's quota in one step: a refused call takes no quota, a failed one still counts", async () => {
    const metered = await env.addEntry('openai', { priority: 1, quota: { limit: 1000, unit: 'requests', period: 'day' } });
    try {
      const { key } = await createUserWithKey(env.gw, 'developer', { limits: { rpm: 2 } }, 'enterprise');
      const limited = new OpenAI({ baseURL: `${env.gw.url}/v1`, apiKey: key, maxRetries: 0 });
      const ask = (model: string) => limited.chat.completions.create({ model, messages: [{ role: 'user', content: 'hi' }] });
      expect((await ask('gpt-4o')).model).toBe('gpt-4o');
      // an unknown model fails before routing, and still counts against the key's requests per minute
      expect(await ask('nonesuch-large').catch((e) => e.status)).toBe(404);
      const refused = await ask('gpt-4o').catch((e) => e);
      expect(refused.status).toBe(429);
      expect(refused.error).toMatchObject({ code: 'rate_limited' });
      expect(refused.headers.get('retry-after')).toBeTruthy();
      // the limit decides before the model: an unknown model is refused with 429 too
      expect(await ask('nonesuch-large').catch((e) => e.status)).toBe(429);
      expect(env.openai.requests).toHaveLength(1);
      const entry = await env.gw.request(`/wallet/keys/${metered.id}`, { token: env.adminToken });
      expect(entry.body.quota).toMatchObject({ unit: 'requests', used: 1 }); // the refused calls took none
    } finally {
      await env.gw.request(`/wallet/keys/${metered.id}`, { method: 'DELETE', token: env.adminToken });
    }
  });

  it('never writes a wallet secret or a gateway key to the log', () => {
    const leaks = findLeaks([env.secrets.openai, env.secrets.anthropic, env.key], { logs: env.gw.logs.join('\n') });
    expect(leaks).toEqual([]);
    expect(env.gw.logs.length).toBeGreaterThan(10);
  });
});
