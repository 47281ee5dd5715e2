import { TEST_BACKEND } from '../helpers/backend';
import { createUserWithKey } from '../helpers/keys';
import { startLlmEnv, type LlmTestEnv } from '../helpers/llm';

/**
 * Issues 14.9 and 16.3: NUL bytes and wrong JSON types in management input, deep nesting in /v1 bodies and a model
 * name with a NUL were answered 500 (the deep nesting before the rate limit ran, unrecorded; the NUL model served,
 * charged and never recorded). Now they are refused at validation, before anything else runs: 400, and on /v1
 * counted against the limits and recorded like any refused request.
 */

const nested = (depth: number, leaf: unknown = 1): unknown => {
  let value: unknown = leaf;
  for (let i = 0; i < depth; i++) value = { a: value };
  return value;
};

function expectManagement400(res: { status: number; body: any; text: string }, what: string) {
  if (res.status !== 400) throw new Error(`${what}: expected 400, got ${res.status} ${res.text.slice(0, 200)}`);
  expect(res.body.error).toMatchObject({ code: 'invalid_request', message: expect.stringContaining('NUL'), details: expect.any(Array), requestId: expect.any(String) });
}

describe(`(14.9) a NUL byte in a body, query or path parameter is a 400 in the management shape (${TEST_BACKEND})`, () => {
  let env: LlmTestEnv;
  beforeAll(async () => {
    env = await startLlmEnv();
  });
  afterAll(() => env.close());

  it('POST /auth/login, GET /audit?targetId=%00, GET /plans/%00, /wallet/keys, /api-keys', async () => {
    const admin = env.adminToken;
    expectManagement400(await env.gw.request('/auth/login', { body: { email: 'a\u0000@example.test', password: 'x' } }), 'login');
    expectManagement400(await env.gw.request('/audit?targetId=%00', { token: admin }), 'audit query');
    expectManagement400(await env.gw.request('/plans/%00', { token: admin }), 'plans param');
    expectManagement400(await env.gw.request('/wallet/keys', { token: admin, body: { secret: 'sk-proj-abcdefgh12345678', label: 'a\u0000b' } }), 'wallet');
    expectManagement400(await env.gw.request('/api-keys', { token: admin, body: { name: 'k', scopes: ['chat'], models: ['gpt\u0000'] } }), 'api-keys');
    expectManagement400(await env.gw.request('/api-keys', { token: admin, body: { 'na\u0000me': 'k', scopes: ['chat'] } }), 'a key with a NUL');
  });
});

describe(`(16.3) bad input never answers 500; refused /v1 input is counted and recorded (${TEST_BACKEND})`, () => {
  let env: LlmTestEnv;
  beforeAll(async () => {
    env = await startLlmEnv();
  });
  afterAll(() => env.close());
  beforeEach(() => {
    env.openai.reset();
    env.anthropic.reset();
  });

  it('10,000-level nesting in tools or tool_use.input: 400 at validation, recorded, counted against the rate limit', async () => {
    const { key } = await createUserWithKey(env.gw, 'developer', { limits: { rpm: 2 } }, 'enterprise');
    // written as text: JSON.stringify itself overflows at this depth (as the gateway's estimate of tools did)
    const deep = '{"a":'.repeat(10_000) + '1' + '}'.repeat(10_000);
    const chat = await env.gw.request('/v1/chat/completions', {
      token: key,
      body: `{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}],"tools":[{"type":"function","function":{"name":"f","parameters":${deep}}}]}`,
    });
    expect(chat.status).toBe(400);
    expect(chat.body.error).toMatchObject({ code: 'invalid_request', type: 'invalid_request_error', message: expect.stringContaining('nested more than 128 levels') });
    expect(await env.usageOf(chat.headers.get('x-request-id')!)).toMatchObject({ surface: 'chat', status: 400, error_code: 'invalid_request' });

    const messages = await env.gw.request('/v1/messages', {
      token: key,
      body: `{"model":"claude-haiku-4-5","max_tokens":10,"messages":[{"role":"assistant","content":[{"type":"tool_use","id":"t","name":"f","input":${deep}}]}]}`,
    });
    expect(messages.status).toBe(400);
    expect(messages.body).toMatchObject({ type: 'error', error: { type: 'invalid_request_error', message: expect.stringContaining('nested more than 128 levels') } });
    expect(await env.usageOf(messages.headers.get('x-request-id')!)).toMatchObject({ surface: 'messages', status: 400 });

    // both counted: the key's third request in the minute is refused
    const third = await env.gw.request('/v1/chat/completions', { token: key, body: { model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] } });
    expect(third.status).toBe(429);
    expect(env.openai.requests).toHaveLength(0);
    expect(env.anthropic.requests).toHaveLength(0);
  });

  it('nesting up to 128 levels is served as before', async () => {
    const res = await env.gw.request('/v1/chat/completions', {
      token: env.key,
      body: { model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }], tools: [{ type: 'function', function: { name: 'f', parameters: nested(120) } }] },
    });
    expect(res.status).toBe(200);
  });

  it('a model name with a NUL: 400, recorded without the name, nothing sent upstream, nothing charged', async () => {
    const res = await env.gw.request('/v1/chat/completions', { token: env.key, body: { model: 'gpt-4o\u0000', messages: [{ role: 'user', content: 'hi' }] } });
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ code: 'invalid_request', param: 'model', message: expect.stringContaining('NUL') });
    expect(await env.usageOf(res.headers.get('x-request-id')!)).toMatchObject({ surface: 'chat', status: 400, model: null, cost_micros: expect.anything() });
    const row = await env.usageOf(res.headers.get('x-request-id')!);
    expect(Number(row.cost_micros)).toBe(0);
    expect(env.openai.requests).toHaveLength(0);
  });

  it('wrong JSON types in management bodies are 400s', async () => {
    const admin = env.adminToken;
    const cases: [string, unknown][] = [
      ['/auth/login', { email: 123, password: ['x'] }],
      ['/auth/login', []],
      ['/wallet/keys', { secret: { a: 1 }, label: 5 }],
      ['/wallet/keys', { secret: 'sk-proj-abcdefgh12345678', label: 'x', metadata: nested(200) }],
      ['/api-keys', { name: 'k', scopes: 'chat' }],
      ['/api-keys', { name: 'k', scopes: ['chat'], limits: [1, 2] }],
    ];
    for (const [path, body] of cases) {
      const res = await env.gw.request(path, { token: path === '/auth/login' ? undefined : admin, body });
      expect({ path, body: JSON.stringify(body).slice(0, 80), status: res.status }).toEqual({ path, body: JSON.stringify(body).slice(0, 80), status: 400 });
      expect(res.body.error).toMatchObject({ code: 'invalid_request', requestId: expect.any(String) });
    }
  });
});
