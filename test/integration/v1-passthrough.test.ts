import { TEST_BACKEND } from '../helpers/backend';
import { startLlmEnv, type LlmTestEnv } from '../helpers/llm';

/**
 * A request the gateway does not change goes upstream as the client's own bytes (no re-serialisation), and an
 * answer is billed from its usage without being re-written. Where the body must change (an alias, a stream that
 * needs usage) or where parsers could read it differently (a repeated key), it is built anew.
 */
describe(`/v1 forwards the client's bytes where nothing changes (${TEST_BACKEND})`, () => {
  let env: LlmTestEnv;
  beforeAll(async () => {
    env = await startLlmEnv();
  }, 120_000);
  afterAll(() => env.close());
  beforeEach(() => {
    env.openai.reset();
    env.anthropic.reset();
  });

  const post = (path: string, text: string, headers: Record<string, string> = {}) => env.gw.request(path, { token: env.key, body: text, headers });

  it('chat: the body arrives byte for byte (spacing, key order, unknown fields, escapes), the answer comes back as the upstream wrote it', async () => {
    const text = '{ "messages" : [ {"role":"user","content":"caf\\u00e9 \\"quoted\\" \\ud83d\\ude00"} ],\n  "x_vendor_field": {"keep": [1, 2.50]},\n  "model": "gpt-4o" }';
    const res = await post('/v1/chat/completions', text);
    expect(res.status).toBe(200);
    const upstream = env.openai.requests.at(-1)!;
    expect(upstream.rawBody).toBe(text);
    // billed from the usage the mock reported
    const row = await env.usageOf(res.headers.get('x-request-id')!);
    expect(row).toMatchObject({ prompt_tokens: res.body.usage.prompt_tokens, completion_tokens: res.body.usage.completion_tokens, estimated: false });
  });

  it('chat: a service/model name is rewritten, so the body is built anew with the upstream model', async () => {
    const res = await post('/v1/chat/completions', '{"model":"openai/gpt-4o","messages":[{"role":"user","content":"hi"}]}');
    expect(res.status).toBe(200);
    const upstream = env.openai.requests.at(-1)!;
    expect(upstream.body.model).toBe('gpt-4o');
    expect(upstream.rawBody).not.toContain('openai/gpt-4o');
  });

  it('a repeated top-level key is never forwarded as sent: the upstream gets the one model the gateway admitted and billed', async () => {
    // JSON.parse keeps the last "model"; a first-wins upstream parser would have served the first one
    const res = await post('/v1/chat/completions', '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}],"model":"gpt-4o"}');
    expect(res.status).toBe(200);
    const upstream = env.openai.requests.at(-1)!;
    expect(upstream.rawBody.match(/"model"/g)).toHaveLength(1);
    expect(upstream.body.model).toBe('gpt-4o');
    expect((await env.usageOf(res.headers.get('x-request-id')!)).model).toBe('gpt-4o');
  });

  it('a key written with escapes is never forwarded as sent either', async () => {
    const res = await post('/v1/chat/completions', '{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}],"str\\u0065am":false}');
    expect(res.status).toBe(200);
    expect(env.openai.requests.at(-1)!.rawBody).not.toContain('\\u0065');
    expect(env.openai.requests.at(-1)!.body.stream).toBe(false);
  });

  it('a stream that did not ask for usage gets it added; one that asked goes as sent', async () => {
    const without = await post('/v1/chat/completions', '{"model":"gpt-4o","stream":true,"messages":[{"role":"user","content":"hi"}]}');
    expect(without.status).toBe(200);
    expect(env.openai.requests.at(-1)!.body.stream_options).toEqual({ include_usage: true });
    // the usage-only chunk the client did not ask for is held back
    expect(without.text).not.toContain('"usage":{');

    const withUsage = '{"model":"gpt-4o","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hi"}]}';
    const asked = await post('/v1/chat/completions', withUsage);
    expect(asked.status).toBe(200);
    expect(env.openai.requests.at(-1)!.rawBody).toBe(withUsage);
    expect(asked.text).toContain('"usage":{');
    expect((await env.usageOf(asked.headers.get('x-request-id')!)).estimated).toBe(false);
  });

  it('embeddings: sent as is, billed from the usage at the end of the answer', async () => {
    const text = '{"input":["hello world","second"],"model":"text-embedding-3-small","encoding_format":"float"}';
    const res = await post('/v1/embeddings', text);
    expect(res.status).toBe(200);
    expect(env.openai.requests.at(-1)!.rawBody).toBe(text);
    const row = await env.usageOf(res.headers.get('x-request-id')!);
    expect(row).toMatchObject({ surface: 'embeddings', prompt_tokens: res.body.usage.prompt_tokens, estimated: false });
    expect(row.prompt_tokens).toBeGreaterThan(0);
  });

  it('Anthropic messages: sent as is with the client version header; billed from the Message usage', async () => {
    const text = '{"max_tokens":64,"model":"claude-haiku-4-5","messages":[{"role":"user","content":"Hi Claude"}]}';
    const res = await post('/v1/messages', text, { 'anthropic-version': '2023-06-01' });
    expect(res.status).toBe(200);
    const upstream = env.anthropic.requests.at(-1)!;
    expect(upstream.rawBody).toBe(text);
    expect(upstream.headers['anthropic-version']).toBe('2023-06-01');
    const row = await env.usageOf(res.headers.get('x-request-id')!);
    expect(row).toMatchObject({ prompt_tokens: res.body.usage.input_tokens, completion_tokens: res.body.usage.output_tokens, estimated: false });
  });
});
