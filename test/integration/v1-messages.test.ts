import Anthropic from '@anthropic-ai/sdk';
import { TEST_BACKEND } from '../helpers/backend';
import { startLlmEnv, type LlmTestEnv } from '../helpers/llm';
import { countTokens, parseSse, readBody } from '../mocks';

describe(`POST /v1/messages, native Anthropic (${TEST_BACKEND})`, () => {
  let env: LlmTestEnv;
  let client: Anthropic;

  beforeAll(async () => {
    env = await startLlmEnv();
    // @anthropic-ai/sdk 1.x: Authorization: Bearer <key> and anthropic-version: 2026-10-21
    client = new Anthropic({ baseURL: env.gw.url, apiKey: env.key, maxRetries: 0 });
  });
  afterAll(() => env.close());
  beforeEach(() => {
    env.openai.reset();
    env.anthropic.reset();
  });

  /** What Claude Code and older SDKs send: x-api-key and anthropic-version 2023-06-01. */
  const claudeCodeStyle = (body: Record<string, unknown>, headers: Record<string, string> = {}) =>
    fetch(`${env.gw.url}/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': env.key, 'anthropic-version': '2023-06-01', 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
    });

  it('serves the official SDK (Bearer, 2026-10-21), forwarding its version and the wallet secret only', async () => {
    const { data, response } = await client.messages
      .create({ model: 'claude-haiku-4-5', max_tokens: 100, messages: [{ role: 'user', content: 'Hi Claude' }] })
      .withResponse();
    expect(data).toMatchObject({ type: 'message', role: 'assistant', model: 'claude-haiku-4-5', content: [{ type: 'text', text: 'mock-anthropic reply to: Hi Claude' }] });
    const upstream = env.anthropic.requests[0];
    expect(upstream.headers['anthropic-version']).toBe('2026-10-21');
    expect(upstream.headers['x-api-key']).toBe(env.secrets.anthropic);
    expect(upstream.headers.authorization).toBeUndefined();
    expect(upstream.body).toEqual({ model: 'claude-haiku-4-5', max_tokens: 100, messages: [{ role: 'user', content: 'Hi Claude' }] });
    expect(response.headers.get('x-keywallet-provider-key')).toBe(env.entryIds.anthropic);

    const row = await env.usageOf(response.headers.get('x-request-id')!);
    expect(row).toMatchObject({ surface: 'messages', service: 'anthropic', prompt_tokens: data.usage.input_tokens, completion_tokens: data.usage.output_tokens, estimated: false });
  });

  it('streams through the SDK byte for byte, billing from message_start and message_delta', async () => {
    const stream = client.messages.stream({ model: 'claude-fast', max_tokens: 200, messages: [{ role: 'user', content: 'Stream to me' }] });
    const message = await stream.finalMessage();
    expect(message.content).toHaveLength(1);
    expect(message.content[0]).toMatchObject({ type: 'text', text: 'mock-anthropic reply to: Stream to me' });
    expect(message.usage.output_tokens).toBe(countTokens('mock-anthropic reply to: Stream to me'));
    const requestId = (await stream.withResponse()).response.headers.get('x-request-id')!;
    const row = await env.usageOf(requestId);
    expect(row).toMatchObject({ surface: 'messages', stream: true, estimated: false, prompt_tokens: countTokens('Stream to me'), completion_tokens: message.usage.output_tokens });
  });

  it('serves Claude Code style requests (x-api-key, 2023-06-01), forwarding anthropic-beta', async () => {
    const res = await claudeCodeStyle(
      { model: 'claude-sonnet-4-5', max_tokens: 64, temperature: 0.2, system: 'You are terse.', messages: [{ role: 'user', content: 'ping' }], stream: true },
      { 'anthropic-beta': 'interleaved-thinking-2025-05-14' },
    );
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const events = parseSse((await readBody(res)).text);
    expect(events.map((e) => e.event)).toEqual(expect.arrayContaining(['message_start', 'content_block_delta', 'message_delta', 'message_stop']));
    expect(events[events.length - 1].event).toBe('message_stop');
    const upstream = env.anthropic.requests[0];
    expect(upstream.headers).toMatchObject({ 'anthropic-version': '2023-06-01', 'anthropic-beta': 'interleaved-thinking-2025-05-14', 'x-api-key': env.secrets.anthropic });
    expect(upstream.body.temperature).toBe(0.2);
  });

  it('passes an upstream error through in the Anthropic shape', async () => {
    const err = await client.messages.create({ model: 'claude-haiku-4-5', max_tokens: 10, temperature: 0.5, messages: [{ role: 'user', content: 'x' }] } as never).catch((e) => e);
    expect(err).toBeInstanceOf(Anthropic.BadRequestError);
    expect(err.error).toMatchObject({ type: 'error', error: { type: 'invalid_request_error', message: expect.stringContaining('temperature') } });
  });

  it('explains that an OpenAI-only model cannot be used here, in the Anthropic shape', async () => {
    const res = await claudeCodeStyle({ model: 'gpt-4o', max_tokens: 10, messages: [{ role: 'user', content: 'x' }] });
    expect(res.status).toBe(400);
    const body = (await res.json()) as any;
    expect(body).toMatchObject({ type: 'error', error: { type: 'invalid_request_error', message: expect.stringMatching(/gpt-4o.*openai.*\/v1\/messages/) } });
    expect(body.request_id).toBe(res.headers.get('x-request-id'));
    expect(env.openai.requests).toHaveLength(0);
  });

  it.each([
    ['unknown model', { model: 'nope-1', max_tokens: 10, messages: [] }, {}, 404, 'not_found_error'],
    ['missing max_tokens', { model: 'claude-haiku-4-5', messages: [] }, {}, 400, 'invalid_request_error'],
    ['no credential', { model: 'claude-haiku-4-5', max_tokens: 10, messages: [] }, { 'x-api-key': '' }, 401, 'authentication_error'],
  ])('answers %s in the Anthropic shape', async (_name, body, headers, status, type) => {
    const res = await claudeCodeStyle(body, headers as Record<string, string>);
    expect(res.status).toBe(status);
    expect(await res.json()).toMatchObject({ type: 'error', error: { type, message: expect.any(String) } });
  });

  it('uses only the Anthropic targets of an alias (last: it cools the only Anthropic entry down)', async () => {
    env.anthropic.fail({ kind: 'status', status: 529 }, { times: 3 });
    const res = await claudeCodeStyle({ model: 'claude-fast', max_tokens: 10, messages: [{ role: 'user', content: 'x' }] });
    expect(res.status).toBe(502);
    expect(await res.json()).toMatchObject({ type: 'error', error: { type: 'upstream_error', message: expect.stringContaining('overloaded') } });
    expect(env.openai.requests).toHaveLength(0);
  });
});
