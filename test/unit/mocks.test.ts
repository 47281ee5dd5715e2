import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import {
  countTokens,
  parseSse,
  startAnthropicMock,
  startOpenAIMock,
  startRestMock,
  TOOL_ARGUMENTS,
  type MockUpstream,
} from '../mocks';

const WEATHER_TOOL = { type: 'function', function: { name: 'get_weather', parameters: { type: 'object' } } };

let openai: MockUpstream;
let anthropic: MockUpstream;
let rest: MockUpstream;

beforeAll(async () => {
  [openai, anthropic, rest] = await Promise.all([startOpenAIMock(), startAnthropicMock(), startRestMock()]);
});
afterAll(async () => {
  await Promise.all([openai.close(), anthropic.close(), rest.close()]);
});
afterEach(() => {
  openai.reset();
  anthropic.reset();
  rest.reset();
});

/** The mocks answer JSON whose shape each test asserts, so `json()` is typed loosely here. */
type LooseResponse = Omit<Response, 'json'> & { json(): Promise<any> };
const call = (url: string, init?: RequestInit): Promise<LooseResponse> => fetch(url, init);

function postOpenAI(path: string, body: unknown, key: string | null = 'sk-test-a') {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (key) headers.authorization = `Bearer ${key}`;
  return call(`${openai.url}${path}`, { method: 'POST', headers, body: JSON.stringify(body) });
}

function postAnthropic(body: unknown, headers: Record<string, string> = {}, path = '/v1/messages') {
  return call(`${anthropic.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': 'sk-ant-a', 'anthropic-version': '2023-06-01', ...headers },
    body: JSON.stringify(body),
  });
}

const userChat = (text: string, extra: object = {}) => ({ model: 'gpt-4o-mini', messages: [{ role: 'user' as const, content: text }], ...extra });
const userMessage = (text: string, extra: object = {}) => ({
  model: 'claude-sonnet-4-6',
  max_tokens: 256,
  messages: [{ role: 'user' as const, content: text }],
  ...extra,
});

describe('OpenAI mock', () => {
  it('answers a chat completion with deterministic content and usage', async () => {
    const res = await postOpenAI('/v1/chat/completions', {
      model: 'gpt-4o-mini',
      messages: [{ role: 'system', content: 'be brief' }, { role: 'user', content: 'hello world' }],
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-request-id')).toMatch(/^req_/);
    const body = await res.json();
    const reply = 'mock-openai reply to: hello world';
    expect(body).toMatchObject({ object: 'chat.completion', model: 'gpt-4o-mini', id: expect.stringMatching(/^chatcmpl-/) });
    expect(body.choices[0]).toMatchObject({ index: 0, finish_reason: 'stop', message: { role: 'assistant', content: reply } });
    expect(body.usage).toMatchObject({
      prompt_tokens: countTokens('be briefhello world'),
      completion_tokens: countTokens(reply),
      total_tokens: countTokens('be briefhello world') + countTokens(reply),
    });
    expect(openai.requests[0]).toMatchObject({ method: 'POST', path: '/v1/chat/completions', credential: 'sk-test-a' });
    expect(openai.requests[0].body.messages).toHaveLength(2);
  });

  it('rejects a missing credential and unknown paths with the OpenAI error shape', async () => {
    const noKey = await postOpenAI('/v1/chat/completions', userChat('hi'), null);
    expect(noKey.status).toBe(401);
    expect((await noKey.json()).error).toEqual({ message: expect.any(String), type: 'invalid_request_error', param: null, code: null });
    const unknown = await postOpenAI('/v1/nothing', {});
    expect(unknown.status).toBe(404);
    expect((await unknown.json()).error).toMatchObject({ message: 'Invalid URL (POST /v1/nothing)', type: 'invalid_request_error' });
  });

  it('calls the first tool for a user turn and reads the tool result back', async () => {
    const first = await (await postOpenAI('/v1/chat/completions', userChat('weather?', { tools: [WEATHER_TOOL] }))).json();
    expect(first.choices[0].finish_reason).toBe('tool_calls');
    const call = first.choices[0].message.tool_calls[0];
    expect(call).toMatchObject({ type: 'function', function: { name: 'get_weather', arguments: '{"location":"Paris"}' } });
    const messages = [
      { role: 'user', content: 'weather?' },
      first.choices[0].message,
      { role: 'tool', tool_call_id: call.id, content: 'sunny, 21C' },
    ];
    const second = await (await postOpenAI('/v1/chat/completions', { model: 'gpt-4o', messages, tools: [WEATHER_TOOL] })).json();
    expect(second.choices[0].finish_reason).toBe('stop');
    expect(second.choices[0].message.content).toContain('sunny, 21C');
  });

  it('stops at max_tokens with finish_reason length', async () => {
    const body = await (await postOpenAI('/v1/chat/completions', userChat('a long question', { max_tokens: 2 }))).json();
    expect(body.choices[0]).toMatchObject({ finish_reason: 'length', message: { content: 'mock-ope' } });
    expect(body.usage.completion_tokens).toBe(2);
  });

  it('streams chunks, a finish chunk, then the usage chunk with empty choices, then [DONE]', async () => {
    const res = await postOpenAI('/v1/chat/completions', userChat('stream me', { stream: true, stream_options: { include_usage: true } }));
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const frames = parseSse(await res.text());
    expect(frames[frames.length - 1].data).toBe('[DONE]');
    const chunks = frames.slice(0, -1).map((f) => JSON.parse(f.data));
    expect(chunks.every((c) => c.object === 'chat.completion.chunk' && c.id === chunks[0].id)).toBe(true);
    expect(chunks[0].choices[0].delta).toMatchObject({ role: 'assistant', content: '' });
    const usageChunk = chunks[chunks.length - 1];
    const finishChunk = chunks[chunks.length - 2];
    const contentChunks = chunks.slice(1, -2);
    expect(contentChunks.length).toBeGreaterThanOrEqual(8);
    const text = contentChunks.map((c) => c.choices[0].delta.content).join('');
    expect(text).toBe('mock-openai reply to: stream me');
    expect(finishChunk.choices[0]).toMatchObject({ delta: {}, finish_reason: 'stop' });
    expect(usageChunk.choices).toEqual([]);
    expect(usageChunk.usage).toMatchObject({ prompt_tokens: countTokens('stream me'), completion_tokens: countTokens(text) });
    expect(chunks.slice(0, -1).every((c) => c.usage === null)).toBe(true);
  });

  it('sends no usage chunk without include_usage', async () => {
    const frames = parseSse(await (await postOpenAI('/v1/chat/completions', userChat('x', { stream: true }))).text());
    const last = JSON.parse(frames[frames.length - 2].data);
    expect(last.choices[0].finish_reason).toBe('stop');
    expect(frames.slice(0, -1).some((f) => 'usage' in JSON.parse(f.data))).toBe(false);
  });

  it('streams a tool call as tool_calls deltas: id and name first, then argument pieces', async () => {
    const res = await postOpenAI('/v1/chat/completions', userChat('weather?', { stream: true, tools: [WEATHER_TOOL] }));
    const chunks = parseSse(await res.text()).slice(0, -1).map((f) => JSON.parse(f.data));
    const opening = chunks[0].choices[0].delta.tool_calls[0];
    expect(opening).toMatchObject({ index: 0, id: expect.stringMatching(/^call_/), type: 'function', function: { name: 'get_weather', arguments: '' } });
    const pieces = chunks.slice(1, -1).map((c) => c.choices[0].delta.tool_calls[0].function.arguments);
    expect(pieces.length).toBeGreaterThan(1);
    expect(pieces.join('')).toBe(TOOL_ARGUMENTS);
    expect(chunks[chunks.length - 1].choices[0].finish_reason).toBe('tool_calls');
  });

  it('serves embeddings as floats or base64 float32 and lists models', async () => {
    const floats = await (await postOpenAI('/v1/embeddings', { model: 'text-embedding-3-small', input: ['abc', 'defgh'] })).json();
    expect(floats).toMatchObject({ object: 'list', model: 'text-embedding-3-small', usage: { prompt_tokens: 1 + 2, total_tokens: 3 } });
    expect(floats.data).toHaveLength(2);
    expect(floats.data[0]).toMatchObject({ object: 'embedding', index: 0 });
    expect(floats.data[0].embedding).toHaveLength(8);
    const b64 = await (await postOpenAI('/v1/embeddings', { model: 'text-embedding-3-small', input: 'abc', encoding_format: 'base64' })).json();
    const decoded = Array.from(new Float32Array(new Uint8Array(Buffer.from(b64.data[0].embedding, 'base64')).buffer));
    expect(decoded).toEqual(floats.data[0].embedding);
    const models = await (await call(`${openai.url}/v1/models`, { headers: { authorization: 'Bearer k' } })).json();
    expect(models.object).toBe('list');
    expect(models.data.map((m: { id: string }) => m.id)).toContain('gpt-4o-mini');
  });

  it('is understood by the official openai SDK (JSON, stream, base64 embeddings)', async () => {
    const client = new OpenAI({ apiKey: 'sk-sdk', baseURL: `${openai.url}/v1`, maxRetries: 0 });
    const completion = await client.chat.completions.create(userChat('sdk'));
    expect(completion.choices[0].message.content).toBe('mock-openai reply to: sdk');
    const stream = await client.chat.completions.create({ ...userChat('sdk stream'), stream: true, stream_options: { include_usage: true } });
    let text = '';
    let usage: OpenAI.CompletionUsage | null | undefined;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? '';
      if (chunk.usage) usage = chunk.usage;
    }
    expect(text).toBe('mock-openai reply to: sdk stream');
    expect(usage?.completion_tokens).toBe(countTokens(text));
    const embedding = await client.embeddings.create({ model: 'text-embedding-3-small', input: 'abc' });
    expect(embedding.data[0].embedding).toHaveLength(8);
    expect(openai.requests.every((r) => r.credential === 'sk-sdk')).toBe(true);
  });
});

describe('Anthropic mock', () => {
  it('answers a Message and accepts x-api-key or a Bearer token', async () => {
    const res = await postAnthropic(userMessage('hello', { system: 'you are terse' }));
    expect(res.status).toBe(200);
    expect(res.headers.get('request-id')).toMatch(/^req_/);
    const body = await res.json();
    const reply = 'mock-anthropic reply to: hello';
    expect(body).toMatchObject({
      id: expect.stringMatching(/^msg_/),
      type: 'message',
      role: 'assistant',
      model: 'claude-sonnet-4-6',
      content: [{ type: 'text', text: reply }],
      stop_reason: 'end_turn',
      stop_sequence: null,
      usage: { input_tokens: countTokens('you are tersehello'), output_tokens: countTokens(reply) },
    });
    expect(anthropic.requests[0].body.system).toBe('you are terse');
    const bearer = await postAnthropic(userMessage('hi'), { 'x-api-key': '', authorization: 'Bearer sk-ant-bearer' });
    expect(bearer.status).toBe(200);
    expect(anthropic.requests[1].credential).toBe('sk-ant-bearer');
  });

  it('validates credential, version and max_tokens like the real API', async () => {
    const cases: [Record<string, string>, object, number, string][] = [
      [{ 'x-api-key': '' }, userMessage('x'), 401, 'authentication_error'],
      [{ 'anthropic-version': '' }, userMessage('x'), 400, 'invalid_request_error'],
      [{}, { model: 'claude-sonnet-4-6', messages: [{ role: 'user', content: 'x' }] }, 400, 'invalid_request_error'],
    ];
    for (const [headers, body, status, type] of cases) {
      const res = await postAnthropic(body, headers);
      expect(res.status).toBe(status);
      expect(await res.json()).toEqual({ type: 'error', error: { type, message: expect.any(String) } });
    }
  });

  it('rejects sampling parameters from anthropic-version 2026-10-21 on, naming the parameter', async () => {
    for (const param of ['temperature', 'top_p', 'top_k']) {
      const res = await postAnthropic(userMessage('x', { [param]: 0.5 }), { 'anthropic-version': '2026-10-21' });
      expect(res.status).toBe(400);
      const body = await res.json();
      expect(body.error.type).toBe('invalid_request_error');
      expect(body.error.message).toContain(param);
    }
    expect((await postAnthropic(userMessage('x', { temperature: 0.5 }))).status).toBe(200);
    expect((await postAnthropic(userMessage('x'), { 'anthropic-version': '2026-10-21' })).status).toBe(200);
  });

  it('uses the first tool, then answers with the tool_result content', async () => {
    const tools = [{ name: 'get_weather', input_schema: { type: 'object' } }];
    const first = await (await postAnthropic(userMessage('weather?', { tools }))).json();
    expect(first.stop_reason).toBe('tool_use');
    expect(first.content[0]).toMatchObject({ type: 'tool_use', name: 'get_weather', input: { location: 'Paris' } });
    const messages = [
      { role: 'user', content: 'weather?' },
      { role: 'assistant', content: first.content },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: first.content[0].id, content: 'rainy' }] },
    ];
    const second = await (await postAnthropic({ ...userMessage(''), messages, tools })).json();
    expect(second.stop_reason).toBe('end_turn');
    expect(second.content[0].text).toContain('rainy');
  });

  it('stops at a stop sequence and at max_tokens', async () => {
    const bySequence = await (await postAnthropic(userMessage('hello', { stop_sequences: ['reply'] }))).json();
    expect(bySequence).toMatchObject({ stop_reason: 'stop_sequence', stop_sequence: 'reply', content: [{ text: 'mock-anthropic ' }] });
    const byLength = await (await postAnthropic(userMessage('hello', { max_tokens: 1 }))).json();
    expect(byLength).toMatchObject({ stop_reason: 'max_tokens', usage: { output_tokens: 1 } });
  });

  it('streams the real event sequence with usage in message_start and message_delta', async () => {
    const res = await postAnthropic(userMessage('stream me', { stream: true }));
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const events = parseSse(await res.text());
    const data = events.map((e) => JSON.parse(e.data));
    expect(events.every((e, i) => e.event === data[i].type)).toBe(true);
    const order = events.map((e) => e.event).filter((name, i, all) => name !== all[i - 1]);
    expect(order).toEqual(['message_start', 'content_block_start', 'ping', 'content_block_delta', 'content_block_stop', 'message_delta', 'message_stop']);
    expect(data[0].message).toMatchObject({ content: [], stop_reason: null, usage: { input_tokens: countTokens('stream me') } });
    const deltas = data.filter((d) => d.type === 'content_block_delta');
    expect(deltas.length).toBeGreaterThanOrEqual(8);
    const text = deltas.map((d) => d.delta.text).join('');
    expect(text).toBe('mock-anthropic reply to: stream me');
    expect(data[data.length - 2]).toEqual({ type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: countTokens(text) } });
  });

  it('streams tool input as input_json_delta pieces', async () => {
    const tools = [{ name: 'get_weather', input_schema: { type: 'object' } }];
    const data = parseSse(await (await postAnthropic(userMessage('weather?', { tools, stream: true }))).text()).map((e) => JSON.parse(e.data));
    expect(data[1].content_block).toMatchObject({ type: 'tool_use', name: 'get_weather', input: {} });
    const json = data.filter((d) => d.type === 'content_block_delta').map((d) => d.delta.partial_json).join('');
    expect(JSON.parse(json)).toEqual({ location: 'Paris' });
    expect(data.find((d) => d.type === 'message_delta').delta.stop_reason).toBe('tool_use');
  });

  it('counts tokens and answers a 529 fault with overloaded_error', async () => {
    const count = await (await postAnthropic({ model: 'claude-sonnet-4-6', messages: [{ role: 'user', content: 'abcdefgh' }] }, {}, '/v1/messages/count_tokens')).json();
    expect(count).toEqual({ input_tokens: 2 });
    anthropic.fail({ kind: 'status', status: 529 });
    const res = await postAnthropic(userMessage('x'));
    expect(res.status).toBe(529);
    expect(await res.json()).toEqual({ type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } });
  });

  it('is understood by the official @anthropic-ai/sdk 1.x (Bearer, 2026-10-21, JSON and stream)', async () => {
    const client = new Anthropic({ authToken: 'sk-ant-sdk', baseURL: anthropic.url, maxRetries: 0 });
    const message = await client.messages.create(userMessage('sdk'));
    expect(message.content[0]).toMatchObject({ type: 'text', text: 'mock-anthropic reply to: sdk' });
    const final = await client.messages.stream(userMessage('sdk stream')).finalMessage();
    expect(final.content[0]).toMatchObject({ text: 'mock-anthropic reply to: sdk stream' });
    expect(final.usage.output_tokens).toBe(countTokens('mock-anthropic reply to: sdk stream'));
    expect(anthropic.requests[0].credential).toBe('sk-ant-sdk');
    expect(anthropic.requests[0].headers['anthropic-version']).toBe('2026-10-21');
  });
});

describe('REST mock', () => {
  it('echoes method, path, query, headers and body, and finds the credential where services put it', async () => {
    const res = await call(`${rest.url}/v1/charges?limit=3`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from('sk_test_x:').toString('base64')}`, 'content-type': 'application/json' },
      body: JSON.stringify({ amount: 5 }),
    });
    expect(await res.json()).toMatchObject({ method: 'POST', path: '/v1/charges', query: { limit: '3' }, body: { amount: 5 } });
    await call(`${rest.url}/weather?appid=ow-key`);
    await call(`${rest.url}/geocode?key=gm-key`);
    await call(`${rest.url}/x`, { headers: { 'api-key': 'azure-key' } });
    expect(rest.requests.map((r) => r.credential)).toEqual(['sk_test_x', 'ow-key', 'gm-key', 'azure-key']);
  });

  it('streams /stream in five pieces about 20 ms apart', async () => {
    const started = Date.now();
    const res = await call(`${rest.url}/stream`);
    expect(res.headers.get('transfer-encoding')).toBe('chunked');
    expect(await res.text()).toBe('piece-1\npiece-2\npiece-3\npiece-4\npiece-5\n');
    expect(Date.now() - started).toBeGreaterThanOrEqual(80);
  });
});
