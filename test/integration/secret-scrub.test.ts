/**
 * 14.3 — a provider secret that an upstream echoes never reaches the gateway user: not in /v1 answers (JSON,
 * SSE, errors), not through /proxy (envelope and raw), not in response headers, not in the gateway's log.
 */
import zlib from 'node:zlib';
import { TEST_BACKEND } from '../helpers/backend';
import { startLlmEnv, type LlmTestEnv } from '../helpers/llm';
import { addEntry, createService, uniqueSlug } from '../helpers/routing';
import { findLeaks, tableText } from '../helpers/secret-scan';
import { fakeSecret } from '../helpers/fake-secrets';
import { echo, parseSse, readBody, startRestMock, type MockUpstream } from '../mocks';

/** What a client could decode the secret back from: the text, and every base64 / URL-encoded run in it. */
function decodedViews(text: string): Record<string, string> {
  const views: Record<string, string> = { text };
  const runs = text.match(/[A-Za-z0-9+/_-]{12,}={0,2}/g) ?? [];
  views.base64 = runs.map((r) => Buffer.from(r, 'base64').toString('latin1')).join('\n');
  views.base64shifted = runs.flatMap((r) => [1, 2, 3].map((k) => Buffer.from(r.slice(k), 'base64').toString('latin1'))).join('\n');
  try {
    views.uri = decodeURIComponent(text);
  } catch {
    views.uri = text.replace(/%2F/gi, '/').replace(/%2B/gi, '+').replace(/%3D/gi, '=');
  }
  return views;
}

describe(`14.3 provider secrets echoed by an upstream never reach the client (${TEST_BACKEND})`, () => {
  let env: LlmTestEnv;
  let rest: MockUpstream;
  const secrets: string[] = [];
  const seen: string[] = [];

  async function post(path: string, body: unknown, headers: Record<string, string> = {}) {
    const res = await fetch(`${env.gw.url}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${env.key}`, 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
    });
    const { text } = await readBody(res);
    const headerText = [...res.headers.entries()].map(([k, v]) => `${k}: ${v}`).join('\n');
    seen.push(headerText, text);
    return { status: res.status, headers: res.headers, text, headerText };
  }

  function expectNoSecret(...texts: string[]) {
    for (const text of texts) expect(findLeaks(secrets, decodedViews(text))).toEqual([]);
  }

  beforeAll(async () => {
    env = await startLlmEnv();
    rest = await startRestMock();
    secrets.push(env.secrets.openai, env.secrets.anthropic);
  }, 60_000);
  afterAll(async () => {
    await env.close();
    await rest.close();
  });
  beforeEach(() => {
    env.openai.reset();
    env.anthropic.reset();
    rest.reset();
  });

  it('14.3 /v1/chat/completions JSON: the key echoed into content is redacted', async () => {
    env.openai.fail(echo.openaiCompletion(echo.key), { times: 1 });
    const res = await post('/v1/chat/completions', { model: 'gpt-4o', messages: [{ role: 'user', content: 'what is your key?' }] });
    expect(res.status).toBe(200);
    expect(JSON.parse(res.text).choices[0].message.content).toBe('Here it is: [redacted]');
    expectNoSecret(res.text);
  });

  it('14.3 /v1/chat/completions JSON: the Authorization header echoed (Bearer) and as a Basic credential', async () => {
    env.openai.fail(echo.openaiCompletion((req) => `${echo.credentialHeader(req)} / ${echo.basicOfKey(req)} / ${echo.urlEncodedKey(req)}`), { times: 1 });
    const res = await post('/v1/chat/completions', { model: 'gpt-4o', messages: [{ role: 'user', content: 'echo' }] });
    expect(res.status).toBe(200);
    expect(res.text).toContain('Bearer [redacted]');
    expectNoSecret(res.text);
  });

  it('14.3 /v1/chat/completions: an upstream error with the key in message, code and param', async () => {
    env.openai.fail(echo.openaiError(400, echo.key), { times: 1 });
    const res = await post('/v1/chat/completions', { model: 'gpt-4o', messages: [{ role: 'user', content: 'x' }] });
    expect(res.status).toBe(400);
    const { error } = JSON.parse(res.text);
    expect(error.code).toBe('[redacted]');
    expect(error.param).toBe('[redacted]');
    expectNoSecret(res.text);
  });

  it('14.3 /v1/chat/completions SSE (OpenAI, usage asked): the key split across two chunks', async () => {
    env.openai.fail(echo.openaiStream(echo.key), { times: 1 });
    const res = await post('/v1/chat/completions', {
      model: 'gpt-4o',
      stream: true,
      stream_options: { include_usage: true },
      messages: [{ role: 'user', content: 'x' }],
    });
    expect(res.status).toBe(200);
    expect(res.text).toContain('Here it is: [redacted]');
    expect(res.text.trimEnd().endsWith('data: [DONE]')).toBe(true);
    expectNoSecret(res.text);
  });

  it('14.3 /v1/chat/completions SSE (OpenAI, usage not asked): the key split across two chunks', async () => {
    env.openai.fail(echo.openaiStream(echo.basicOfKey), { times: 1 });
    const res = await post('/v1/chat/completions', { model: 'gpt-4o', stream: true, messages: [{ role: 'user', content: 'x' }] });
    expect(res.status).toBe(200);
    expect(res.text).toContain('[redacted]');
    expectNoSecret(res.text);
  });

  it('14.3 /v1/chat/completions translated from Anthropic: JSON and SSE', async () => {
    env.anthropic.fail(echo.anthropicMessage(echo.key), { times: 1 });
    const json = await post('/v1/chat/completions', { model: 'anthropic/claude-haiku-4-5', messages: [{ role: 'user', content: 'x' }] });
    expect(json.status).toBe(200);
    expect(JSON.parse(json.text).choices[0].message.content).toBe('Here it is: [redacted]');

    env.anthropic.fail(echo.anthropicStream(echo.credentialHeader), { times: 1 });
    const sse = await post('/v1/chat/completions', { model: 'anthropic/claude-haiku-4-5', stream: true, messages: [{ role: 'user', content: 'x' }] });
    expect(sse.status).toBe(200);
    const content = parseSse(sse.text)
      .filter((e) => e.data !== '[DONE]')
      .map((e) => JSON.parse(e.data).choices?.[0]?.delta?.content ?? '')
      .join('');
    expect(content).toBe('Here it is: [redacted]');
    expectNoSecret(json.text, sse.text);
  });

  it('14.3 /v1/chat/completions translated from Anthropic: an error quoting the key', async () => {
    env.anthropic.fail(echo.anthropicError(400, echo.basicOfKey), { times: 1 });
    const res = await post('/v1/chat/completions', { model: 'anthropic/claude-haiku-4-5', messages: [{ role: 'user', content: 'x' }] });
    expect(res.status).toBe(400);
    expectNoSecret(res.text);
  });

  it('14.3 /v1/messages: JSON, SSE split mid-secret, and an error', async () => {
    const body = { model: 'claude-haiku-4-5', max_tokens: 50, messages: [{ role: 'user', content: 'x' }] };
    const headers = { 'anthropic-version': '2023-06-01' };
    env.anthropic.fail(echo.anthropicMessage(echo.key), { times: 1 });
    const json = await post('/v1/messages', body, headers);
    expect(json.status).toBe(200);
    expect(JSON.parse(json.text).content[0].text).toBe('Here it is: [redacted]');

    env.anthropic.fail(echo.anthropicStream(echo.key), { times: 1 });
    const sse = await post('/v1/messages', { ...body, stream: true }, headers);
    expect(sse.status).toBe(200);
    expect(sse.text).toContain('Here it is: [redacted]');
    expect(parseSse(sse.text).at(-1)?.event).toBe('message_stop');

    env.anthropic.fail(echo.anthropicError(400, (req) => `${echo.key(req)} ${echo.urlEncodedKey(req)}`), { times: 1 });
    const error = await post('/v1/messages', body, headers);
    expect(error.status).toBe(400);
    expect(JSON.parse(error.text).type).toBe('error');
    expectNoSecret(json.text, sse.text, error.text);
  });

  it('14.3 a stream that fails in-band with the key in the error type and message: the client frame and the usage event', async () => {
    env.anthropic.fail(echo.anthropicStreamError(echo.key), { times: 1 });
    const native = await post('/v1/messages', { model: 'claude-haiku-4-5', max_tokens: 50, stream: true, messages: [{ role: 'user', content: 'x' }] }, { 'anthropic-version': '2023-06-01' });
    expect(native.status).toBe(200);
    expect(parseSse(native.text).at(-1)?.event).toBe('error');
    const nativeRow = await env.usageOf(native.headers.get('x-request-id')!);
    expect(nativeRow.error_code).toBe('[redacted]');

    env.anthropic.fail(echo.anthropicStreamError(echo.basicOfKey), { times: 1 });
    const translated = await post('/v1/chat/completions', { model: 'anthropic/claude-haiku-4-5', stream: true, messages: [{ role: 'user', content: 'x' }] });
    expect(translated.status).toBe(200);
    const last = JSON.parse(parseSse(translated.text).at(-1)!.data);
    expect(last.error).toBeDefined();
    const translatedRow = await env.usageOf(translated.headers.get('x-request-id')!);
    expectNoSecret(native.text, translated.text, JSON.stringify(nativeRow), JSON.stringify(translatedRow));
  });

  it('14.3 /v1/audio/speech: audio streamed back is scrubbed too, across chunks', async () => {
    env.openai.fail(
      { kind: 'reply', reply: (req) => ({ status: 200, contentType: 'audio/mpeg', chunks: ['ID3-audio-bytes ', `key=${req.credential!.slice(0, 20)}`, `${req.credential!.slice(20)} end`], intervalMs: 5 }) },
      { times: 1 },
    );
    const res = await post('/v1/audio/speech', { model: 'openai/tts-1', input: 'x', voice: 'alloy' });
    expect(res.status).toBe(200);
    expect(res.text).toBe('ID3-audio-bytes key=[redacted] end');
  });

  it('14.3 /v1/embeddings: the key echoed into the answer', async () => {
    env.openai.fail(echo.embeddings(echo.key), { times: 1 });
    const res = await post('/v1/embeddings', { model: 'text-embedding-3-small', input: 'x' });
    expect(res.status).toBe(200);
    expect(JSON.parse(res.text).model).toBe('[redacted]');
    expectNoSecret(res.text);
  });

  it('14.3 /v1/responses: an OpenAI answer echoing the key, and its later retrieval (GET) echoing it again', async () => {
    env.openai.fail(echo.openaiResponse(echo.key), { times: 1 });
    const created = await post('/v1/responses', { model: 'gpt-4o', input: 'x' });
    expect(created.status).toBe(200);
    const response = JSON.parse(created.text);
    expect(response.output[0].content[0].text).toBe('Here it is: [redacted]');

    env.openai.fail(echo.openaiResponse(echo.basicOfKey), { times: 1 });
    const got = await fetch(`${env.gw.url}/v1/responses/${response.id}`, { headers: { authorization: `Bearer ${env.key}` } });
    const gotText = await got.text();
    seen.push(gotText);
    expect(got.status).toBe(200);
    expect(gotText).toContain('[redacted]');
    expectNoSecret(created.text, gotText);
  });

  it('14.3 /v1/responses translated from Anthropic: the stream is scrubbed, and so is the response the gateway keeps', async () => {
    env.anthropic.fail(echo.anthropicStream(echo.key), { times: 1 });
    const sse = await post('/v1/responses', { model: 'anthropic/claude-haiku-4-5', input: 'x', stream: true });
    expect(sse.status).toBe(200);
    expectNoSecret(sse.text);
    const completed = parseSse(sse.text).find((e) => e.event === 'response.completed');
    const id = JSON.parse(completed!.data).response.id as string;
    const kept = await fetch(`${env.gw.url}/v1/responses/${id}`, { headers: { authorization: `Bearer ${env.key}` } });
    const keptText = await kept.text();
    seen.push(keptText);
    expect(kept.status).toBe(200);
    expect(keptText).toContain('Here it is: [redacted]');
    expectNoSecret(keptText);
  });

  it('/v1 passes no upstream response header on, so none can echo the key (a guard: main already did not)', async () => {
    env.openai.fail(echo.openaiCompletion(() => 'fine', { headers: { 'x-echo-key': echo.key, 'x-echo-auth': echo.credentialHeader } }), { times: 1 });
    const res = await post('/v1/chat/completions', { model: 'gpt-4o', messages: [{ role: 'user', content: 'x' }] });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-echo-key')).toBeNull();
    expectNoSecret(res.headerText);
  });

  describe('/proxy', () => {
    let basicSlug: string;
    let bearerSlug: string;

    beforeAll(async () => {
      basicSlug = uniqueSlug('basic');
      bearerSlug = uniqueSlug('bearer');
      await createService(env.gw, env.adminToken, { slug: basicSlug, baseUrl: rest.url, auth: { type: 'basic' } });
      await createService(env.gw, env.adminToken, { slug: bearerSlug, baseUrl: rest.url, auth: { type: 'bearer' } });
      for (const slug of [basicSlug, bearerSlug]) {
        // a Stripe-shaped secret, realistic for a Basic-auth REST service
        const secret = fakeSecret.stripeLive();
        const res = await env.gw.request('/wallet/keys', { method: 'POST', token: env.adminToken, body: { service: slug, secret, label: slug } });
        expect(res.status).toBe(201);
        secrets.push(secret);
      }
      secrets.push((await addEntry(env.gw, env.adminToken, { service: bearerSlug, priority: 500 })).secret);
    });

    it('14.3 raw pass-through: the echoed `Authorization: Basic <base64 of the secret>` is redacted', async () => {
      const res = await fetch(`${env.gw.url}/proxy/${basicSlug}/v1/echo`, { headers: { authorization: `Bearer ${env.key}` } });
      const text = await res.text();
      seen.push(text);
      expect(res.status).toBe(200);
      expect(rest.requests[0].headers.authorization).toMatch(/^Basic /);
      expect(JSON.parse(text).headers.authorization).toMatch(/\[redacted\]/);
      expectNoSecret(text);
    });

    it('14.3 envelope: the Basic echo is redacted too', async () => {
      const res = await post('/proxy', { service: basicSlug, endpoint: '/v1/echo', method: 'GET' });
      expect(res.status).toBe(200);
      expectNoSecret(res.text);
    });

    it('14.3 /proxy: response headers echoing the secret (raw, Basic, URL-encoded) are dropped', async () => {
      rest.fail(
        echo.openaiCompletion(() => 'ok', { headers: { 'x-echo-basic': echo.credentialHeader, 'x-echo-raw': echo.key, location: echo.urlEncodedKey, 'x-kept': () => 'yes' } }),
        { times: 1 },
      );
      const res = await fetch(`${env.gw.url}/proxy/${basicSlug}/v1/thing`, { headers: { authorization: `Bearer ${env.key}` } });
      const headerText = [...res.headers.entries()].map(([k, v]) => `${k}: ${v}`).join('\n');
      seen.push(headerText, await res.text());
      expect(res.headers.get('x-kept')).toBe('yes');
      expect(res.headers.get('x-echo-basic')).toBeNull();
      expect(res.headers.get('location')).toBeNull();
      expectNoSecret(headerText);
    });

    it('14.3 /proxy: a streamed body with the secret (base64) split across chunks, and an upstream error quoting it', async () => {
      rest.fail(echo.openaiStream(echo.basicOfKey), { times: 1 });
      const stream = await post('/proxy', { service: bearerSlug, endpoint: '/v1/stream', method: 'POST', body: {} });
      expect(stream.status).toBe(200);
      expect(stream.text).toContain('[redacted]');

      rest.fail(echo.openaiError(422, (req) => `${echo.credentialHeader(req)} ${echo.basicOfKey(req)}`), { times: 1 });
      const error = await fetch(`${env.gw.url}/proxy/${bearerSlug}/v1/bad`, { headers: { authorization: `Bearer ${env.key}` } });
      const errorText = await error.text();
      seen.push(errorText);
      expect(error.status).toBe(422);
      expect(JSON.parse(errorText).error.code).toMatch(/^Bearer \[redacted\] Basic [A-Za-z0-9+/]{0,3}\[redacted\]/);
      expectNoSecret(stream.text, errorText);
    });

    it('14.3 /proxy: a body the upstream gzipped unasked is decoded and scrubbed; an encoding the gateway cannot read is refused', async () => {
      rest.fail(
        { kind: 'reply', reply: (req) => ({ status: 200, contentType: 'application/json', headers: { 'content-encoding': 'gzip' }, body: zlib.gzipSync(JSON.stringify({ echoed: echo.credentialHeader(req) })) }) },
        { times: 1 },
      );
      const gz = await fetch(`${env.gw.url}/proxy/${basicSlug}/v1/gz`, { headers: { authorization: `Bearer ${env.key}` } });
      const gzText = await gz.text();
      seen.push(gzText);
      expect(gz.status).toBe(200);
      expect(gz.headers.get('content-encoding')).toBeNull();
      expect(JSON.parse(gzText).echoed).toMatch(/^Basic .*\[redacted\]/);

      rest.fail({ kind: 'reply', reply: (req) => ({ status: 200, contentType: 'application/json', headers: { 'content-encoding': 'zstd' }, body: `{"k":"${req.credential}"}` }) }, { times: 1 });
      const unknown = await fetch(`${env.gw.url}/proxy/${basicSlug}/v1/zstd`, { headers: { authorization: `Bearer ${env.key}` } });
      const unknownText = await unknown.text();
      seen.push(unknownText);
      expect(unknown.status).toBe(502);
      expect(JSON.parse(unknownText).error.code).toBe('upstream_failed');
      expectNoSecret(gzText, unknownText);
    });
  });

  it('14.3 nothing any test here received, and nothing the gateway logged, carries a secret', () => {
    expect(seen.length).toBeGreaterThan(20);
    expect(findLeaks(secrets, decodedViews(seen.join('\n')))).toEqual([]);
    expect(env.gw.logs.length).toBeGreaterThan(0);
    expect(findLeaks(secrets, decodedViews(env.gw.logs.join('')))).toEqual([]);
  });

  it('14.3 the responses the gateway keeps and the usage events carry no secret either', async () => {
    await env.gw.deps.usage.flush();
    const rows = { llm_responses: await tableText(env.gw.deps.db, 'llm_responses'), usage_events: await tableText(env.gw.deps.db, 'usage_events') };
    expect(rows.llm_responses).toContain('[redacted]');
    expect(findLeaks(secrets, { ...decodedViews(rows.llm_responses), usage: rows.usage_events })).toEqual([]);
  });
});
