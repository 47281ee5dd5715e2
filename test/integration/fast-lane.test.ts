import http from 'node:http';
import zlib from 'node:zlib';
import { TEST_BACKEND } from '../helpers/backend';
import { startTestGateway, type TestGateway } from '../helpers/gateway';
import { startLlmEnv, type LlmTestEnv } from '../helpers/llm';
import { FastRoutes } from '../../src/http/fast-routes';

/**
 * The fast lane (src/http/fast-routes.ts) serves the fixed-path /v1 and /proxy routes without the generic
 * CORS, body-parser and router middleware. Clients must see exactly what the generic stack answers: the
 * same request sent with a trailing slash (which only the routers match) is the reference where it helps.
 */

interface RawResult {
  status: number;
  headers: http.IncomingHttpHeaders;
  /** header names in the order they were sent */
  names: string[];
  text: string;
  json: any;
}

/** A request on node:http, so that Content-Length, encodings and partial bodies are ours to choose. */
function send(base: string, path: string, opts: { method?: string; headers?: Record<string, string | number>; body?: string | Buffer; end?: boolean } = {}): Promise<RawResult> {
  return new Promise((resolve, reject) => {
    const req = http.request(base + path, { method: opts.method ?? 'POST', headers: opts.headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        let json: unknown = null;
        try {
          json = JSON.parse(text);
        } catch {
          /* not JSON */
        }
        const names = res.rawHeaders.filter((_, i) => i % 2 === 0).map((n) => n.toLowerCase());
        resolve({ status: res.statusCode!, headers: res.headers, names, text, json });
        req.destroy();
      });
    });
    req.on('error', reject);
    if (opts.body !== undefined) req.write(opts.body);
    if (opts.end !== false) req.end();
  });
}

/** keywallet_http_requests_total for one label set. */
async function requestCount(gw: TestGateway, route: string, method: string, status: number): Promise<number> {
  const text = (await gw.request('/metrics')).text;
  const line = text.split('\n').find((l) => l.startsWith(`keywallet_http_requests_total{route="${route}",method="${method}",status="${status}"}`));
  return line ? Number(line.split(' ').pop()) : 0;
}

const CHAT = JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'Say hello' }] });
const EXPOSED = 'x-request-id,x-keywallet-model,x-keywallet-provider-key,x-keywallet-attempts,x-keywallet-route,retry-after';
const OPENAI_MALFORMED = { error: { message: 'Malformed JSON body', type: 'invalid_request_error', code: 'invalid_request', param: null } };
const OPENAI_TOO_LARGE = { error: { message: 'Request body is too large', type: 'invalid_request_error', code: 'payload_too_large', param: null } };
/** what the schema says about a body without `model`, i.e. what bodyparser's `{}` gets */
const NO_MODEL = { message: 'Invalid body: body.model Invalid input: expected string, received undefined', code: 'invalid_request', param: 'model' };

describe(`fast lane for /v1 and /proxy (${TEST_BACKEND})`, () => {
  let env: LlmTestEnv;
  let lookups: jest.SpyInstance;
  const json = (extra: Record<string, string | number> = {}) => ({ authorization: `Bearer ${env.key}`, 'content-type': 'application/json', ...extra });

  /** whether the last request was one the fast lane found a route for */
  const lastLookupHit = () => lookups.mock.results.at(-1)?.value !== undefined;

  beforeAll(async () => {
    env = await startLlmEnv();
    lookups = jest.spyOn(FastRoutes.prototype, 'get');
  });
  afterAll(async () => {
    lookups.mockRestore();
    await env.close();
  });
  beforeEach(() => {
    env.openai.reset();
    env.anthropic.reset();
  });

  it('serves a chat completion, with the usage event and the metrics route label of the route', async () => {
    const before = await requestCount(env.gw, '/v1/chat/completions', 'POST', 200);
    const res = await send(env.gw.url, '/v1/chat/completions', { headers: json(), body: CHAT });
    expect(lastLookupHit()).toBe(true);
    expect(res.status).toBe(200);
    expect(res.json.choices[0].message.content).toBe('mock-openai reply to: Say hello');
    expect(res.headers['x-keywallet-provider-key']).toBe(env.entryIds.openai);
    expect(env.openai.requests[0].body).toEqual(JSON.parse(CHAT));
    const row = await env.usageOf(res.headers['x-request-id'] as string);
    expect(row).toMatchObject({ surface: 'chat', service: 'openai', model: 'gpt-4o', status: 200 });
    expect(await requestCount(env.gw, '/v1/chat/completions', 'POST', 200)).toBe(before + 1);
  });

  it('serves /v1/messages, /v1/embeddings, GET /v1/models and POST /proxy too', async () => {
    const messages = await send(env.gw.url, '/v1/messages', {
      headers: json({ 'anthropic-version': '2023-06-01' }),
      body: JSON.stringify({ model: 'claude-haiku-4-5', max_tokens: 50, messages: [{ role: 'user', content: 'Hi' }] }),
    });
    expect(lastLookupHit()).toBe(true);
    expect(messages.status).toBe(200);
    expect(messages.json).toMatchObject({ type: 'message', content: [{ type: 'text', text: 'mock-anthropic reply to: Hi' }] });

    const embeddings = await send(env.gw.url, '/v1/embeddings', { headers: json(), body: JSON.stringify({ model: 'text-embedding-3-small', input: 'x' }) });
    expect(lastLookupHit()).toBe(true);
    expect(embeddings.status).toBe(200);
    expect(embeddings.json.data).toHaveLength(1);

    const models = await send(env.gw.url, '/v1/models', { method: 'GET', headers: { authorization: `Bearer ${env.key}` } });
    expect(lastLookupHit()).toBe(true);
    expect(models.status).toBe(200);
    expect(models.json.object).toBe('list');

    const before = await requestCount(env.gw, '/proxy', 'POST', 404);
    const proxy = await send(env.gw.url, '/proxy', { headers: json(), body: JSON.stringify({ service: 'nope', endpoint: '/x', method: 'GET' }) });
    expect(lastLookupHit()).toBe(true);
    expect(proxy.status).toBe(404);
    expect(proxy.json).toEqual({ error: { message: "Unknown service 'nope'", type: 'not_found_error', code: 'not_found', param: 'service' } });
    expect(await requestCount(env.gw, '/proxy', 'POST', 404)).toBe(before + 1);
  });

  it('a trailing slash, other letter case or HEAD misses the fast lane and is answered as before by the routers', async () => {
    const before = await requestCount(env.gw, '/v1/chat/completions', 'POST', 200);
    for (const path of ['/v1/chat/completions/', '/V1/Chat/Completions']) {
      const res = await send(env.gw.url, path, { headers: json(), body: CHAT });
      expect(lastLookupHit()).toBe(false);
      expect(res.status).toBe(200);
      expect(res.json.choices[0].message.content).toBe('mock-openai reply to: Say hello');
    }
    expect(await requestCount(env.gw, '/v1/chat/completions', 'POST', 200)).toBe(before + 2);

    const head = await send(env.gw.url, '/v1/models', { method: 'HEAD', headers: { authorization: `Bearer ${env.key}` } });
    expect(lastLookupHit()).toBe(false);
    expect(head.status).toBe(200);
    const get = await send(env.gw.url, '/v1/chat/completions', { method: 'GET', headers: { authorization: `Bearer ${env.key}` } });
    expect(get.status).toBe(405);
    expect(get.headers.allow).toBe('POST');
  });

  it('CORS: the same headers, in the same order, as the generic stack; Vary: Origin without an Origin', async () => {
    const origin = { origin: 'https://app.example' };
    const fast = await send(env.gw.url, '/v1/chat/completions', { headers: json(origin), body: CHAT });
    expect(lastLookupHit()).toBe(true);
    const slow = await send(env.gw.url, '/v1/chat/completions/', { headers: json(origin), body: CHAT });
    expect(fast.status).toBe(200);
    expect(fast.headers).toMatchObject({ 'access-control-allow-origin': 'https://app.example', 'access-control-expose-headers': EXPOSED, vary: 'Origin' });
    expect(fast.names).toEqual(slow.names);

    // CORS_ORIGINS=* (the default) allows any origin, so @koa/cors answers * even without an Origin
    const bare = await send(env.gw.url, '/v1/chat/completions', { headers: { 'content-type': 'application/json' }, body: CHAT });
    const bareSlow = await send(env.gw.url, '/v1/chat/completions/', { headers: { 'content-type': 'application/json' }, body: CHAT });
    expect(bare.status).toBe(401);
    expect(bare.headers).toMatchObject({ 'access-control-allow-origin': '*', 'access-control-expose-headers': EXPOSED, vary: 'Origin' });
    expect(bare.names).toEqual(bareSlow.names);
  });

  it('OPTIONS preflights and plain OPTIONS are answered as before', async () => {
    const preflight = await send(env.gw.url, '/v1/chat/completions', {
      method: 'OPTIONS',
      headers: { origin: 'https://app.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
    });
    expect(lastLookupHit()).toBe(false);
    expect(preflight.status).toBe(204);
    expect(preflight.headers).toMatchObject({
      'access-control-allow-origin': 'https://app.example',
      'access-control-allow-methods': 'GET,HEAD,PUT,POST,DELETE,PATCH',
      'access-control-allow-headers': expect.stringContaining('anthropic-version'),
      vary: 'Origin',
    });
    const plain = await send(env.gw.url, '/v1/chat/completions', { method: 'OPTIONS' });
    expect(plain.status).toBe(200);
    expect(plain.headers.allow).toBe('POST');
  });

  it('malformed JSON: 400 in OpenAI shape, in Anthropic shape on /v1/messages, under the route in metrics', async () => {
    // bodies are read by the route itself, after authentication, so a refused body counts under its route
    const before = await requestCount(env.gw, '/v1/chat/completions', 'POST', 400);
    const beforeMessages = await requestCount(env.gw, '/v1/messages', 'POST', 400);
    const openai = await send(env.gw.url, '/v1/chat/completions', { headers: json(), body: '{"model":' });
    expect(lastLookupHit()).toBe(true);
    expect(openai.status).toBe(400);
    expect(openai.json).toEqual(OPENAI_MALFORMED);

    const anthropic = await send(env.gw.url, '/v1/messages', { headers: json(), body: '{"model":' });
    expect(anthropic.status).toBe(400);
    expect(anthropic.json).toEqual({ type: 'error', error: { type: 'invalid_request_error', message: 'Malformed JSON body' }, request_id: anthropic.headers['x-request-id'] });

    // co-body's strict JSON: only an object or array, and no __proto__ key, however it is spelt
    for (const body of ['"text"', '42', 'null', '  ', '{"__proto__":{"a":1}}', '{"m":[{"\\u005f_proto__":{}}]}']) {
      const res = await send(env.gw.url, '/v1/chat/completions', { headers: json(), body });
      expect({ body, status: res.status, json: res.json }).toEqual({ body, status: 400, json: OPENAI_MALFORMED });
    }
    expect(await requestCount(env.gw, '/v1/chat/completions', 'POST', 400)).toBe(before + 7);
    expect(await requestCount(env.gw, '/v1/messages', 'POST', 400)).toBe(beforeMessages + 1);
    expect(env.openai.requests).toHaveLength(0);
  });

  it('an empty JSON body is {} (the schema answers), a BOM is skipped, charset=utf-8 is fine', async () => {
    const empty = await send(env.gw.url, '/v1/chat/completions', { headers: json(), body: '' });
    expect(empty.status).toBe(400);
    expect(empty.json.error).toMatchObject(NO_MODEL);

    const bom = await send(env.gw.url, '/v1/chat/completions', { headers: json(), body: '\ufeff' + CHAT });
    expect(bom.status).toBe(200);
    const charset = await send(env.gw.url, '/v1/chat/completions', { headers: json({ 'content-type': 'application/json; charset=UTF-8' }), body: CHAT });
    expect(charset.status).toBe(200);
    const unicode = await send(env.gw.url, '/v1/chat/completions', {
      headers: json(),
      body: JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'héllo ✓ 🎉' }] }),
    });
    expect(unicode.status).toBe(200);
    expect(env.openai.requests[2].body.messages[0].content).toBe('héllo ✓ 🎉');
  });

  it('over the limit: 413 from Content-Length at once, or while reading a chunked body', async () => {
    const before = await requestCount(env.gw, '/v1/chat/completions', 'POST', 413);
    const beforeProxy = await requestCount(env.gw, '/proxy', 'POST', 413);
    // /v1 allows 50 MB: the declared length is refused before any of it is read
    const declared = await send(env.gw.url, '/v1/chat/completions', { headers: json({ 'content-length': 50 * 1024 * 1024 + 1 }), body: '{"model":', end: false });
    expect(declared.status).toBe(413);
    expect(declared.json).toEqual(OPENAI_TOO_LARGE);

    // /proxy allows 1 MB
    const envelope = (size: number) => {
      const base = JSON.stringify({ service: 'nope', endpoint: '/x', method: 'POST', body: '' });
      return base.replace('"body":""', `"body":"${'x'.repeat(size - base.length)}"`);
    };
    const atLimit = await send(env.gw.url, '/proxy', { headers: json(), body: envelope(1024 * 1024) });
    expect(atLimit.status).toBe(404);
    const overLength = await send(env.gw.url, '/proxy', { headers: json(), body: envelope(1024 * 1024 + 1) });
    expect(overLength.status).toBe(413);
    expect(overLength.json).toEqual(OPENAI_TOO_LARGE);
    const overChunked = await send(env.gw.url, '/proxy', { headers: json({ 'transfer-encoding': 'chunked' }), body: envelope(1024 * 1024 + 1) });
    expect(overChunked.status).toBe(413);
    expect(overChunked.json).toEqual(OPENAI_TOO_LARGE);
    expect(await requestCount(env.gw, '/v1/chat/completions', 'POST', 413)).toBe(before + 1);
    expect(await requestCount(env.gw, '/proxy', 'POST', 413)).toBe(beforeProxy + 2);
  });

  it('other encodings and content types: the same answers as the generic stack', async () => {
    const gzip = await send(env.gw.url, '/v1/chat/completions', { headers: json({ 'content-encoding': 'gzip' }), body: zlib.gzipSync(CHAT) });
    expect(gzip.status).toBe(200);
    expect(gzip.json.choices[0].message.content).toBe('mock-openai reply to: Say hello');
    const unknownEncoding = await send(env.gw.url, '/v1/chat/completions', { headers: json({ 'content-encoding': 'zstd-ish' }), body: CHAT });
    expect(unknownEncoding.status).toBe(415);
    expect(unknownEncoding.json.error).toMatchObject({ code: 'unsupported_media_type' });

    // /v1 reads a body sent as text/plain or with no type as JSON, as OpenAI's API does (curl -d without a header)
    const plain = await send(env.gw.url, '/v1/chat/completions', { headers: json({ 'content-type': 'text/plain' }), body: CHAT });
    expect(plain.status).toBe(200);
    const noType = await send(env.gw.url, '/v1/chat/completions', { headers: { authorization: `Bearer ${env.key}` }, body: CHAT });
    expect(noType.status).toBe(200);
    // other non-JSON types leave the body {} and the schema answers
    const foo = await send(env.gw.url, '/v1/chat/completions', { headers: json({ 'content-type': 'application/foo+json' }), body: CHAT });
    expect({ status: foo.status, error: foo.json.error }).toEqual({ status: 400, error: expect.objectContaining(NO_MODEL) });
    const vnd = await send(env.gw.url, '/v1/chat/completions', { headers: json({ 'content-type': 'application/vnd.api+json' }), body: CHAT });
    expect(vnd.status).toBe(200);
    // /proxy also parses text: a string body, which the envelope schema refuses
    const text = await send(env.gw.url, '/proxy', { headers: json({ 'content-type': 'text/plain' }), body: '{"service":"nope"}' });
    expect(text.status).toBe(400);
    expect(text.json.error).toMatchObject({ code: 'invalid_request', type: 'invalid_request_error' });
  });
});

describe(`fast lane CORS with a list of origins (${TEST_BACKEND})`, () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway({ env: { CORS_ORIGINS: 'https://app.example' } });
  });
  afterAll(() => gw.close());

  const post = (path: string, origin?: string) =>
    send(gw.url, path, { headers: { 'content-type': 'application/json', ...(origin ? { origin } : {}) }, body: CHAT });

  it('no Origin or another origin: Vary: Origin only; a listed origin: the CORS headers; as the generic stack does', async () => {
    for (const origin of [undefined, 'https://evil.example']) {
      const fast = await post('/v1/chat/completions', origin);
      const slow = await post('/v1/chat/completions/', origin);
      expect(fast.status).toBe(401);
      expect(fast.headers.vary).toBe('Origin');
      expect(fast.headers['access-control-allow-origin']).toBeUndefined();
      expect(fast.headers['access-control-expose-headers']).toBeUndefined();
      expect(fast.names).toEqual(slow.names);
    }
    const fast = await post('/v1/chat/completions', 'https://app.example');
    const slow = await post('/v1/chat/completions/', 'https://app.example');
    expect(fast.status).toBe(401);
    expect(fast.headers).toMatchObject({ 'access-control-allow-origin': 'https://app.example', 'access-control-expose-headers': EXPOSED, vary: 'Origin' });
    expect(fast.names).toEqual(slow.names);
  });
});
