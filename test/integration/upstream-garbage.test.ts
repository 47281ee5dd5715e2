/**
 * 16.4 — an upstream 200 that is no answer (an HTML page labelled application/json, broken JSON) is an upstream
 * failure on /v1: the entry cools down like on a 5xx, the next entry is tried, and when none answers properly
 * the client gets a 502 in its API's error shape, recorded as an upstream error and not billed. /proxy is a
 * pass-through: the bytes go back as they came, labelled with the upstream's own content type.
 */
import { TEST_BACKEND } from '../helpers/backend';
import { startLlmEnv, type LlmTestEnv } from '../helpers/llm';
import { createService, uniqueSlug, addEntry } from '../helpers/routing';
import { echo, startRestMock, type MockUpstream } from '../mocks';

describe(`16.4 upstream nonsense is not success (${TEST_BACKEND})`, () => {
  let env: LlmTestEnv;

  async function post(path: string, body: unknown, headers: Record<string, string> = {}) {
    const res = await fetch(`${env.gw.url}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${env.key}`, 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
    });
    const text = await res.text();
    let json: any = null;
    try {
      json = JSON.parse(text);
    } catch {
      /* the assertion on json says so */
    }
    return { status: res.status, headers: res.headers, text, json };
  }

  async function skippedAsCoolingDown(service: string, entryId: string): Promise<boolean> {
    const res = await env.gw.request(`/routing/explain?service=${service}`, { token: env.adminToken });
    return (res.body.skipped as { id: string; reason: string }[]).some((s) => s.id === entryId && s.reason === 'cooling_down');
  }

  beforeAll(async () => {
    env = await startLlmEnv();
  }, 60_000);
  afterAll(() => env.close());
  beforeEach(() => {
    env.openai.reset();
    env.anthropic.reset();
  });

  it('16.4 /v1/chat/completions: a 200 HTML page on one entry cools it down and the next entry answers', async () => {
    const second = await env.addEntry('openai', { priority: 200 });
    env.openai.fail(echo.htmlPage(), { credential: env.secrets.openai, times: 1 });
    const res = await post('/v1/chat/completions', { model: 'gpt-4o', messages: [{ role: 'user', content: 'hello' }] });
    expect(res.status).toBe(200);
    expect(res.json.choices[0].message.content).toBe('mock-openai reply to: hello');
    expect(env.openai.requests.map((r) => r.credential)).toEqual([env.secrets.openai, second.secret]);
    expect(res.headers.get('x-keywallet-attempts')).toBe('2');
    expect(res.headers.get('x-keywallet-provider-key')).toBe(second.id);
    expect(await skippedAsCoolingDown('openai', env.entryIds.openai)).toBe(true);
    const row = await env.usageOf(res.headers.get('x-request-id')!);
    expect(row).toMatchObject({ status: 200, wallet_entry_id: second.id, attempts: 2 });
  });

  it('16.4 /v1/chat/completions: broken JSON from every entry is a 502 in the OpenAI shape, recorded, not billed', async () => {
    env.openai.fail(echo.brokenJson());
    const res = await post('/v1/chat/completions', { model: 'gpt-4o', messages: [{ role: 'user', content: 'hello' }] });
    env.openai.clearFaults();
    expect(res.status).toBe(502);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(res.json.error).toMatchObject({ code: 'upstream_failed', type: 'upstream_error' });
    expect(env.openai.requests.length).toBeGreaterThan(0);
    const row = await env.usageOf(res.headers.get('x-request-id')!);
    expect(row).toMatchObject({ status: 502, error_code: 'upstream_failed', service: 'openai' });
    expect(Number(row.cost_micros)).toBe(0);
  });

  it('16.4 /v1/embeddings: an HTML 200 is a 502, not an embedding', async () => {
    const fresh = await env.addEntry('openai');
    env.openai.fail(echo.htmlPage('text/html; charset=utf-8'), { credential: fresh.secret });
    const res = await post('/v1/embeddings', { model: 'text-embedding-3-small', input: 'x' });
    env.openai.clearFaults();
    expect(res.status).toBe(502);
    expect(res.json.error.code).toBe('upstream_failed');
    expect(res.text).not.toContain('<html>');
    expect(await skippedAsCoolingDown('openai', fresh.id)).toBe(true);
  });

  it('16.4 /v1/messages: an HTML 200 is a 502 in the Anthropic shape; translated chat too', async () => {
    env.anthropic.fail(echo.htmlPage());
    const native = await post('/v1/messages', { model: 'claude-haiku-4-5', max_tokens: 20, messages: [{ role: 'user', content: 'x' }] }, { 'anthropic-version': '2023-06-01' });
    expect(native.status).toBe(502);
    expect(native.json).toMatchObject({ type: 'error', error: { type: expect.any(String), message: expect.any(String) } });
    expect(native.text).not.toContain('<html>');
    const nativeRow = await env.usageOf(native.headers.get('x-request-id')!);
    expect(nativeRow).toMatchObject({ status: 502, error_code: 'upstream_failed' });
    expect(Number(nativeRow.cost_micros)).toBe(0);
    expect(await skippedAsCoolingDown('anthropic', env.entryIds.anthropic)).toBe(true);

    const fresh = await env.addEntry('anthropic');
    const translated = await post('/v1/chat/completions', { model: 'anthropic/claude-haiku-4-5', messages: [{ role: 'user', content: 'x' }] });
    env.anthropic.clearFaults();
    expect(env.anthropic.requests.at(-1)?.credential).toBe(fresh.secret);
    expect(translated.status).toBe(502);
    expect(translated.json.error).toMatchObject({ code: 'upstream_failed', type: 'upstream_error' });
  });

  it('16.4 /v1/responses: broken JSON on create, an HTML 200 on retrieval: each a 502, not an answer', async () => {
    // every other openai entry is cooling down after the tests above
    const broken = await env.addEntry('openai', { priority: 0 });
    env.openai.fail(echo.brokenJson(), { credential: broken.secret, times: 1 });
    const failed = await post('/v1/responses', { model: 'gpt-4o', input: 'x' });
    expect(failed.status).toBe(502);
    expect(failed.json.error.code).toBe('upstream_failed');
    expect(await skippedAsCoolingDown('openai', broken.id)).toBe(true);

    const fresh = await env.addEntry('openai', { priority: 0 });
    const created = await post('/v1/responses', { model: 'gpt-4o', input: 'x' });
    expect(created.status).toBe(200);
    expect(created.headers.get('x-keywallet-provider-key')).toBe(fresh.id);
    env.openai.fail(echo.htmlPage(), { credential: fresh.secret, times: 1 });
    const got = await fetch(`${env.gw.url}/v1/responses/${created.json.id}`, { headers: { authorization: `Bearer ${env.key}` } });
    const text = await got.text();
    expect(got.status).toBe(502);
    expect(JSON.parse(text).error.code).toBe('upstream_failed');
    expect(text).not.toContain('<html>');
  });

  describe('/proxy passes upstream bytes through (a guard: main already did)', () => {
    let rest: MockUpstream;
    let slug: string;

    beforeAll(async () => {
      rest = await startRestMock();
      slug = uniqueSlug('garbage');
      await createService(env.gw, env.adminToken, { slug, baseUrl: rest.url });
      await addEntry(env.gw, env.adminToken, { service: slug });
    });
    afterAll(() => rest.close());

    it('passes an HTML 200 through unchanged, labelled with the upstream content type', async () => {
      rest.fail(echo.htmlPage('text/html; charset=utf-8'), { times: 2 });
      for (const path of [`/proxy/${slug}/page`, '/proxy']) {
        const init: RequestInit = path === '/proxy'
          ? { method: 'POST', body: JSON.stringify({ service: slug, endpoint: '/page', method: 'GET' }), headers: { authorization: `Bearer ${env.key}`, 'content-type': 'application/json' } }
          : { headers: { authorization: `Bearer ${env.key}` } };
        const res = await fetch(`${env.gw.url}${path}`, init);
        expect(res.status).toBe(200);
        expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
        expect(await res.text()).toBe(echo.HTML_PAGE);
      }
    });

    it('an upstream answer without a content type is not relabelled as JSON', async () => {
      rest.fail({ kind: 'reply', reply: () => ({ status: 200, contentType: '', body: 'plain bytes' }) }, { times: 1 });
      const res = await fetch(`${env.gw.url}/proxy`, {
        method: 'POST',
        headers: { authorization: `Bearer ${env.key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ service: slug, endpoint: '/untyped', method: 'GET' }),
      });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type') ?? '').not.toMatch(/json/);
      expect(await res.text()).toBe('plain bytes');
    });
  });
});
