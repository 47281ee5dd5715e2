import OpenAI from 'openai';
import { TEST_BACKEND } from '../helpers/backend';
import { startLlmEnv, type LlmTestEnv } from '../helpers/llm';
import { countTokens, parseSse, readBody, startOpenAIMock } from '../mocks';

describe(`POST /v1/chat/completions, streaming (${TEST_BACKEND})`, () => {
  let env: LlmTestEnv;
  let client: OpenAI;

  // A pause between upstream events, so a client can hang up mid-stream.
  beforeAll(async () => {
    env = await startLlmEnv({ chunkDelayMs: 20 });
    client = new OpenAI({ baseURL: `${env.gw.url}/v1`, apiKey: env.key, maxRetries: 0 });
  });
  afterAll(() => env.close());
  beforeEach(() => {
    env.openai.reset();
    env.anthropic.reset();
  });

  const rawStream = (body: Record<string, unknown>, signal?: AbortSignal) =>
    fetch(`${env.gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${env.key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ stream: true, ...body }),
      signal,
    });

  it('streams an OpenAI model, asking upstream for usage but not passing the usage chunk to a client that did not ask', async () => {
    const { data: stream, response } = await client.chat.completions
      .create({ model: 'gpt-4o', stream: true, messages: [{ role: 'user', content: 'Tell me a story' }] })
      .withResponse();
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
    expect(response.headers.get('cache-control')).toBe('no-cache');
    expect(response.headers.get('x-accel-buffering')).toBe('no');
    expect(response.headers.get('x-keywallet-provider-key')).toBe(env.entryIds.openai);
    let text = '';
    const chunks: OpenAI.ChatCompletionChunk[] = [];
    for await (const chunk of stream) {
      chunks.push(chunk);
      text += chunk.choices[0]?.delta.content ?? '';
    }
    expect(text).toBe('mock-openai reply to: Tell me a story');
    expect(chunks.every((c) => c.choices.length === 1 && !c.usage)).toBe(true);
    expect(chunks[chunks.length - 1].choices[0].finish_reason).toBe('stop');
    expect(env.openai.requests[0].body.stream_options).toEqual({ include_usage: true });

    const row = await env.usageOf(response.headers.get('x-request-id')!);
    expect(row).toMatchObject({ stream: true, status: 200, estimated: false, prompt_tokens: countTokens('Tell me a story'), completion_tokens: countTokens(text) });
  });

  it('passes the usage chunk on to a client that asked for it', async () => {
    const stream = await client.chat.completions.create({
      model: 'gpt-4o-mini',
      stream: true,
      stream_options: { include_usage: true },
      messages: [{ role: 'user', content: 'Count' }],
    });
    const chunks: OpenAI.ChatCompletionChunk[] = [];
    for await (const chunk of stream) chunks.push(chunk);
    const last = chunks[chunks.length - 1];
    expect(last.choices).toEqual([]);
    expect(last.usage).toMatchObject({ prompt_tokens: countTokens('Count'), completion_tokens: countTokens('mock-openai reply to: Count') });
  });

  it.each([false, true])('translates an Anthropic alias stream into chunks (include_usage %s)', async (includeUsage) => {
    const { data: stream, response } = await client.chat.completions
      .create({
        model: 'claude-fast',
        stream: true,
        ...(includeUsage ? { stream_options: { include_usage: true } } : {}),
        messages: [{ role: 'user', content: 'Stream please' }],
      })
      .withResponse();
    let text = '';
    const chunks: OpenAI.ChatCompletionChunk[] = [];
    for await (const chunk of stream) {
      chunks.push(chunk);
      text += chunk.choices[0]?.delta.content ?? '';
    }
    expect(text).toBe('mock-anthropic reply to: Stream please');
    expect(chunks[0]).toMatchObject({ object: 'chat.completion.chunk', model: 'claude-haiku-4-5', choices: [{ delta: { role: 'assistant' } }] });
    expect(chunks.find((c) => c.choices[0]?.finish_reason)?.choices[0].finish_reason).toBe('stop');
    const usage = { prompt_tokens: countTokens('Stream please'), completion_tokens: countTokens(text) };
    if (includeUsage) expect(chunks[chunks.length - 1].usage).toMatchObject(usage);
    else expect(chunks.some((c) => c.usage)).toBe(false);
    expect(env.anthropic.requests[0].body).toMatchObject({ stream: true, model: 'claude-haiku-4-5' });
    const row = await env.usageOf(response.headers.get('x-request-id')!);
    expect(row).toMatchObject({ service: 'anthropic', estimated: false, prompt_tokens: usage.prompt_tokens, completion_tokens: usage.completion_tokens });
  });

  it('streams tool call deltas from an Anthropic model', async () => {
    const stream = await client.chat.completions.create({
      model: 'claude-fast',
      stream: true,
      messages: [{ role: 'user', content: 'Weather?' }],
      tools: [{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object', properties: { location: { type: 'string' } } } } }],
    });
    let args = '';
    let name = '';
    let finish: string | null = null;
    for await (const chunk of stream) {
      const call = chunk.choices[0]?.delta.tool_calls?.[0];
      if (call?.function?.name) name = call.function.name;
      args += call?.function?.arguments ?? '';
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    expect(name).toBe('get_weather');
    expect(JSON.parse(args)).toEqual({ location: 'Paris' });
    expect(finish).toBe('tool_calls');
  });

  it.each([
    ['gpt-4o', 'openai', 3],
    ['claude-fast', 'anthropic', 5],
  ] as const)('a drop mid-stream (%s) ends with an SSE error event, never [DONE]', async (model, service, afterChunks) => {
    env[service].fail({ kind: 'dropMidStream', afterChunks }, { times: 1 });
    const res = await rawStream({ model, messages: [{ role: 'user', content: 'This will break' }] });
    expect(res.status).toBe(200);
    const { text } = await readBody(res);
    const events = parseSse(text);
    expect(events.length).toBeGreaterThan(1);
    const last = events[events.length - 1];
    expect(JSON.parse(last.data)).toEqual({ error: { message: expect.any(String), type: 'server_error', code: 'upstream_stream_interrupted', param: null } });
    expect(text).not.toContain('[DONE]');
    const row = await env.usageOf(res.headers.get('x-request-id')!);
    expect(row).toMatchObject({ status: 200, error_code: 'upstream_stream_interrupted', estimated: true });

    // The official client turns the error event into a thrown error, not a quietly short answer.
    env[service].fail({ kind: 'dropMidStream', afterChunks }, { times: 1 });
    const stream = await client.chat.completions.create({ model, stream: true, messages: [{ role: 'user', content: 'This will break' }] });
    const iterate = async () => {
      for await (const chunk of stream) void chunk;
    };
    await expect(iterate()).rejects.toThrow(/ended before the response was complete/);
  });

  it('a stream that dies before its first byte falls back to another key', async () => {
    // Tried first, fails, cools down, and is removed afterwards: the other tests keep a healthy entry.
    const doomed = await env.addEntry('openai', { priority: 10 });
    env.openai.fail({ kind: 'dropMidStream', afterChunks: 0 }, { credential: doomed.secret, times: 1 });
    const res = await rawStream({ model: 'gpt-4o', messages: [{ role: 'user', content: 'again' }] });
    const { text } = await readBody(res);
    expect(text).toContain('data: [DONE]');
    expect(env.openai.requests.map((r) => r.credential)).toEqual([doomed.secret, env.secrets.openai]);
    expect(res.headers.get('x-keywallet-provider-key')).toBe(env.entryIds.openai);
    expect(res.headers.get('x-keywallet-attempts')).toBe('2');
    expect((await env.gw.request(`/wallet/keys/${doomed.id}`, { method: 'DELETE', token: env.adminToken })).status).toBeLessThan(300);
  });

  it.each(['gpt-4o', 'claude-fast'])('a client abort (%s) is still recorded: tokens counted locally, marked estimated', async (model) => {
    const controller = new AbortController();
    const content = 'a long question '.repeat(20);
    const res = await rawStream({ model, messages: [{ role: 'user', content }] }, controller.signal);
    const reader = res.body!.getReader();
    let seen = '';
    while (!seen.includes('reply to')) {
      const { done, value } = await reader.read();
      if (done) throw new Error(`stream ended early: ${seen}`);
      seen += new TextDecoder().decode(value);
    }
    controller.abort();
    const row = await env.usageOf(res.headers.get('x-request-id')!);
    expect(row).toMatchObject({ status: 200, stream: true, estimated: true, error_code: 'client_closed' });
    expect(row.completion_tokens).toBeGreaterThan(0);
    expect(row.completion_tokens).toBeLessThan(countTokens(`mock-openai reply to: ${content}`));
    expect(row.prompt_tokens).toBeGreaterThan(0);
    expect(Number(row.cost_micros)).toBeGreaterThan(0);
  });
  it('a client abort stops the upstream request at once, not at its next event', async () => {
    const slow = await startOpenAIMock({ chunkDelayMs: 1500 });
    try {
      const created = await env.gw.request('/services', {
        method: 'POST',
        token: env.adminToken,
        body: { slug: 'slow-llm', kind: 'llm', baseUrl: slow.url, auth: { type: 'bearer' }, allowPrivate: true },
      });
      expect(created.status).toBe(201);
      await env.gw.request('/wallet/keys', { method: 'POST', token: env.adminToken, body: { secret: 'slow-llm-secret-0123456789', service: 'slow-llm', label: 'slow' } });
      const controller = new AbortController();
      const res = await rawStream({ model: 'slow-llm/gpt-4o', messages: [{ role: 'user', content: 'slowly' }] }, controller.signal);
      await res.body!.getReader().read(); // the first event (the assistant role)
      controller.abort();
      const row = await env.usageOf(res.headers.get('x-request-id')!);
      expect(row).toMatchObject({ estimated: true, error_code: 'client_closed' });
      // Waiting for the upstream's next event would take 1.5 s.
      expect(row.latency_ms).toBeLessThan(1000);
    } finally {
      await slow.close();
    }
  });
});
