import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PROVIDERS, protocolOf } from '../../src/providers/registry';
import type { LlmRequest, StreamTranslator } from '../../src/providers/types';

const fixture = (name: string) => readFileSync(join(__dirname, '..', 'fixtures', 'anthropic', name), 'utf8');

function request(over: Partial<LlmRequest>): LlmRequest {
  return {
    surface: 'chat',
    body: { model: 'alias', messages: [{ role: 'user', content: 'hi' }] },
    model: 'concrete',
    stream: false,
    clientWantsStreamUsage: false,
    clientHeaders: {},
    anthropicVersion: '2023-06-01',
    ...over,
  };
}

/** Feeds a stream one byte at a time, the worst framing a network can produce. */
function feedBytewise(stream: StreamTranslator, text: string): string {
  const bytes = Buffer.from(text);
  const out: Buffer[] = [];
  for (let i = 0; i < bytes.length; i++) {
    const piece = stream.push(bytes.subarray(i, i + 1));
    out.push(Buffer.isBuffer(piece) ? piece : Buffer.from(piece));
  }
  return Buffer.concat(out).toString('utf8');
}

const { openai, anthropic } = PROVIDERS;

describe('registry', () => {
  it('built-in services by slug, custom LLM services by metadata.protocol, OpenAI by default', () => {
    expect(protocolOf({ slug: 'openai', kind: 'llm' })).toBe('openai');
    expect(protocolOf({ slug: 'anthropic', kind: 'llm' })).toBe('anthropic');
    expect(protocolOf({ slug: 'vllm', kind: 'llm', metadata: {} })).toBe('openai');
    expect(protocolOf({ slug: 'bedrock-proxy', kind: 'llm', metadata: { protocol: 'anthropic' } })).toBe('anthropic');
    expect(protocolOf({ slug: 'vllm', kind: 'llm', metadata: { protocol: 'grpc' } })).toBe('openai');
    expect(protocolOf({ slug: 'stripe', kind: 'rest' })).toBeNull();
  });
});

describe('OpenAI adapter', () => {
  it('replaces only the model, and forces usage into streams keeping the client options', () => {
    const req = request({ stream: true, body: { model: 'alias', messages: [], stream: true, stream_options: { include_obfuscation: false }, temperature: 0.2 } });
    const built = openai.buildRequest(req);
    expect(built.path).toBe('/v1/chat/completions');
    expect(JSON.parse(built.body as string)).toEqual({
      model: 'concrete',
      messages: [],
      stream: true,
      stream_options: { include_obfuscation: false, include_usage: true },
      temperature: 0.2,
    });
    expect(openai.buildRequest(request({ surface: 'embeddings', body: { model: 'e', input: 'x' } })).path).toBe('/v1/embeddings');
  });

  it('reads usage from an answer and passes its bytes back untouched', () => {
    const raw = Buffer.from('{"id":"c1","choices":[],"usage":{"prompt_tokens":12,"completion_tokens":3,"total_tokens":15}}');
    const answer = openai.parseResponse(request({}), raw)!;
    expect(answer.body).toBe(raw);
    expect(answer.usage).toEqual({ promptTokens: 12, completionTokens: 3 });
    const embeddings = openai.parseResponse(request({ surface: 'embeddings' }), Buffer.from('{"usage":{"prompt_tokens":7,"total_tokens":7}}'))!;
    expect(embeddings.usage).toEqual({ promptTokens: 7, completionTokens: 0 });
  });

  it('16.4: a 2xx body that is not JSON (an HTML page, cut JSON) or not an object is no answer', () => {
    for (const garbage of ['<!DOCTYPE html><html><body>502 Bad Gateway</body></html>', '{"id":"c1","choices":[', '"just a string"', '']) {
      expect(openai.parseResponse(request({}), Buffer.from(garbage))).toBeNull();
      expect(openai.parseResponse(request({ surface: 'embeddings' }), Buffer.from(garbage))).toBeNull();
    }
  });

  it('maps an error body to the OpenAI shape, keeping status and redacting keys', () => {
    const body = Buffer.from(JSON.stringify({ error: { message: 'bad key sk-proj-abcdefghijklmnop', type: 'invalid_request_error', code: 'x', param: 'model' } }));
    expect(openai.mapError(request({}), 400, body)).toEqual({
      status: 400,
      body: { error: { message: 'bad key sk-…', type: 'invalid_request_error', code: 'x', param: 'model' } },
      usage: null,
    });
    expect(openai.mapError(request({}), 404, Buffer.from('<html>')).body).toEqual({
      error: { message: 'The upstream answered HTTP 404', type: 'invalid_request_error', code: null, param: null },
    });
  });

  const head = '"id":"c","object":"chat.completion.chunk","created":1,"model":"gpt-4o"';
  const upstream =
    `data: {${head},"choices":[{"index":0,"delta":{"content":"Grüß 👋"},"finish_reason":null}],"usage":null}\n\n` +
    `data: {${head},"choices":[{"index":0,"delta":{},"finish_reason":"stop"}],"usage":null}\n\n` +
    `data: {${head},"choices":[],"usage":{"prompt_tokens":9,"completion_tokens":4,"total_tokens":13}}\n\n` +
    'data: [DONE]\n\n';

  it('drops the usage chunk the client did not ask for, byte-split frames and all', () => {
    const stream = openai.createStream(request({ stream: true, clientWantsStreamUsage: false }));
    const out = feedBytewise(stream, upstream) + stream.finish();
    expect(out).toBe(upstream.replace(/data: \{[^\n]*"choices":\[\],"usage":\{[^\n]*\n\n/, ''));
    expect(out).toContain('Grüß 👋');
    expect(stream.usage).toEqual({ promptTokens: 9, completionTokens: 4 });
  });

  it('forwards every byte as it came when the client asked for usage', () => {
    const stream = openai.createStream(request({ stream: true, clientWantsStreamUsage: true }));
    expect(feedBytewise(stream, upstream) + stream.finish()).toBe(upstream);
  });

  it('a stream without [DONE] was cut short', () => {
    const stream = openai.createStream(request({ stream: true }));
    stream.push(Buffer.from(upstream.slice(0, upstream.indexOf('\n\n') + 30)));
    expect(stream.finish()).toBeNull();
    expect(stream.usage).toBeNull();
    expect(stream.completionText).toBe('Grüß 👋');
  });
});

describe('Anthropic adapter, translating for /v1/chat/completions', () => {
  it('translates the request for the configured version, dropping sampling params it rejects', () => {
    const body = { model: 'claude-fast', messages: [{ role: 'system', content: 'be brief' }, { role: 'user', content: 'hi' }], temperature: 0.5 };
    const old = anthropic.buildRequest(request({ body, anthropicVersion: '2023-06-01' }));
    expect(old.path).toBe('/v1/messages');
    expect(old.headers['anthropic-version']).toBe('2023-06-01');
    expect(JSON.parse(old.body as string)).toMatchObject({ model: 'concrete', system: 'be brief', temperature: 0.5, max_tokens: 4096 });
    const recent = anthropic.buildRequest(request({ body, anthropicVersion: '2026-10-21' }));
    expect(JSON.parse(recent.body as string).temperature).toBeUndefined();
  });

  it('answers in OpenAI shape naming the model that answered, with usage including cached input', () => {
    const message = fixture('response-text.anthropic.json');
    const answer = anthropic.parseResponse(request({}), Buffer.from(message))!;
    const parsed = JSON.parse(message);
    expect(answer.body).toMatchObject({ object: 'chat.completion', model: parsed.model });
    const u = parsed.usage;
    expect(answer.usage).toEqual({
      promptTokens: u.input_tokens + (u.cache_read_input_tokens ?? 0) + (u.cache_creation_input_tokens ?? 0),
      completionTokens: u.output_tokens,
      // the cached parts are priced at their own rates
      cacheReadTokens: u.cache_read_input_tokens,
      cacheWriteTokens: u.cache_creation_input_tokens,
    });
  });

  it('16.4: a 2xx body that is not a Message (HTML, broken JSON) is no answer, native or translated', () => {
    for (const garbage of ['<html><body>Service Unavailable</body></html>', '{"type":"message","content":[{"type":"te', '[]']) {
      expect(anthropic.parseResponse(request({}), Buffer.from(garbage))).toBeNull();
      expect(anthropic.parseResponse(request({ surface: 'messages' }), Buffer.from(garbage))).toBeNull();
      expect(anthropic.parseResponse(request({ surface: 'count_tokens' }), Buffer.from(garbage))).toBeNull();
    }
    expect(anthropic.parseResponse(request({}), Buffer.from('{"type":"message"}'))).toBeNull();
  });

  it('maps 529 overloaded to a 503 in OpenAI shape', () => {
    const body = Buffer.from('{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}');
    expect(anthropic.mapError(request({}), 529, body)).toMatchObject({ status: 503, body: { error: { type: 'server_error', code: 'overloaded' } } });
  });

  it('translates a stream and ends it with [DONE] only after message_stop', () => {
    const stream = anthropic.createStream(request({ stream: true, clientWantsStreamUsage: true }));
    const out = feedBytewise(stream, fixture('stream-text.anthropic.sse'));
    const tail = stream.finish();
    expect(tail).toMatch(/"usage":\{"prompt_tokens":125,"completion_tokens":15.*\n\ndata: \[DONE\]\n\n$/s);
    expect(out).toContain('"content":", wörld! 👋"');
    expect(stream.usage).toEqual({ promptTokens: 125, completionTokens: 15, cacheReadTokens: 100 });
    expect(stream.failure).toBeNull();
  });

  it('an error event mid-stream becomes a failure, a cut stream finishes with null', () => {
    const sse = fixture('stream-text.anthropic.sse');
    const cutAt = sse.indexOf('event: content_block_stop');
    const failing = anthropic.createStream(request({ stream: true }));
    failing.push(Buffer.from(sse.slice(0, cutAt) + 'event: error\ndata: {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}\n\n'));
    expect(failing.failure).toMatchObject({ code: 'overloaded', type: 'server_error', forwarded: false });
    const cut = anthropic.createStream(request({ stream: true }));
    cut.push(Buffer.from(sse.slice(0, cutAt)));
    expect(cut.finish()).toBeNull();
    expect(cut.completionText).toBe('Hello, wörld! 👋');
    expect(cut.usage).toEqual({ promptTokens: 125, completionTokens: 1, cacheReadTokens: 100 });
  });
});

describe('Anthropic adapter, native /v1/messages', () => {
  it("forwards the client's anthropic-version and anthropic-beta, replacing only the model", () => {
    const req = request({
      surface: 'messages',
      body: { model: 'claude-fast', max_tokens: 10, messages: [], temperature: 1 },
      clientHeaders: { 'anthropic-version': '2026-10-21', 'anthropic-beta': 'prompt-caching-2024-07-31' },
    });
    const built = anthropic.buildRequest(req);
    expect(built.headers).toMatchObject({ 'anthropic-version': '2026-10-21', 'anthropic-beta': 'prompt-caching-2024-07-31' });
    expect(JSON.parse(built.body as string)).toEqual({ model: 'concrete', max_tokens: 10, messages: [], temperature: 1 });
    expect(anthropic.buildRequest(request({ surface: 'messages' })).headers['anthropic-version']).toBe('2023-06-01');
  });

  it('passes errors through in the Anthropic shape', () => {
    const body = Buffer.from('{"type":"error","error":{"type":"invalid_request_error","message":"max_tokens: Field required"}}');
    expect(anthropic.mapError(request({ surface: 'messages' }), 400, body)).toEqual({
      status: 400,
      body: { type: 'error', error: { type: 'invalid_request_error', message: 'max_tokens: Field required' } },
      usage: null,
    });
  });

  it('passes the stream through byte for byte, reading usage from message_start and message_delta', () => {
    const sse = fixture('stream-text.anthropic.sse');
    const stream = anthropic.createStream(request({ surface: 'messages', stream: true }));
    expect(feedBytewise(stream, sse)).toBe(sse);
    expect(stream.finish()).toBe('');
    expect(stream.usage).toEqual({ promptTokens: 125, completionTokens: 15, cacheReadTokens: 100 });
  });

  it("an upstream error event was already forwarded in the client's protocol", () => {
    const stream = anthropic.createStream(request({ surface: 'messages', stream: true }));
    stream.push(Buffer.from('event: error\ndata: {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}\n\n'));
    expect(stream.failure).toMatchObject({ code: 'overloaded_error', forwarded: true });
    expect(stream.finish()).toBe('');
  });
});

describe('server-side web searches in the usage (billed per search)', () => {
  const usageJson = '{"input_tokens":10,"output_tokens":4,"server_tool_use":{"web_search_requests":2}}';

  it('Anthropic reports them in usage.server_tool_use, answered whole or streamed, native or translated', () => {
    const message = `{"id":"m1","type":"message","role":"assistant","model":"claude-haiku-4-5","content":[{"type":"text","text":"ok"}],"stop_reason":"end_turn","stop_sequence":null,"usage":${usageJson}}`;
    expect(anthropic.parseResponse(request({ surface: 'messages' }), Buffer.from(message))!.usage).toEqual({ promptTokens: 10, completionTokens: 4, webSearchRequests: 2 });
    expect(anthropic.parseResponse(request({ surface: 'chat' }), Buffer.from(message))!.usage).toEqual({ promptTokens: 10, completionTokens: 4, webSearchRequests: 2 });
    const events = [
      `event: message_start\ndata: {"type":"message_start","message":{"id":"m1","type":"message","role":"assistant","model":"x","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":10,"output_tokens":1}}}\n\n`,
      `event: content_block_start\ndata: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}\n\n`,
      `event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"ok"}}\n\n`,
      `event: content_block_stop\ndata: {"type":"content_block_stop","index":0}\n\n`,
      `event: message_delta\ndata: {"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":4,"server_tool_use":{"web_search_requests":3}}}\n\n`,
      `event: message_stop\ndata: {"type":"message_stop"}\n\n`,
    ].join('');
    for (const surface of ['messages', 'chat'] as const) {
      const stream = anthropic.createStream(request({ surface, stream: true }));
      feedBytewise(stream, events);
      stream.finish();
      expect(stream.usage).toMatchObject({ completionTokens: 4, webSearchRequests: 3 });
    }
    expect(anthropic.parseResponse(request({ surface: 'messages' }), Buffer.from(message.replace(',"server_tool_use":{"web_search_requests":2}', '')))!.usage).toEqual({ promptTokens: 10, completionTokens: 4 });
  });

  it('an OpenAI chat call with web_search_options counts one search', () => {
    const raw = Buffer.from('{"id":"c1","choices":[],"usage":{"prompt_tokens":12,"completion_tokens":3,"total_tokens":15}}');
    const body = { model: 'gpt-4o-search-preview', messages: [], web_search_options: {} };
    expect(openai.parseResponse(request({ body }), raw)!.usage).toEqual({ promptTokens: 12, completionTokens: 3, webSearchRequests: 1 });
    expect(openai.parseResponse(request({}), raw)!.usage).toEqual({ promptTokens: 12, completionTokens: 3 });
  });
});
