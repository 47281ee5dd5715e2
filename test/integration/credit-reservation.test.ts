import { TEST_BACKEND } from '../helpers/backend';
import { startLlmEnv, type LlmTestEnv } from '../helpers/llm';
import { countTokens } from '../mocks';

/**
 * Issue 14.11: a call reserves credits for everything it may cost — every choice it asked for (n) and the
 * server-side web searches it allows — and is billed for what the provider reports, searches included.
 */
describe(`credit reservations and server-side tool fees (${TEST_BACKEND})`, () => {
  let env: LlmTestEnv;

  /** A gateway key of the env's developer with its own monthly credit budget (USD). */
  async function keyWithCredits(monthlyCredits: number): Promise<string> {
    const me = await env.gw.request('/api-keys', { headers: {}, token: env.adminToken, body: { name: 'budget', scopes: ['chat'], monthlyCredits } });
    if (me.status !== 201) throw new Error(`POST /api-keys answered ${me.status}: ${me.text}`);
    return me.body.key;
  }
  const chat = (key: string, body: Record<string, unknown>) =>
    env.gw.request('/v1/chat/completions', { headers: { authorization: `Bearer ${key}` }, body: { messages: [{ role: 'user', content: 'hi' }], ...body } });
  const messages = (key: string, body: Record<string, unknown>) =>
    env.gw.request('/v1/messages', { headers: { 'x-api-key': key, 'anthropic-version': '2023-06-01' }, body: { messages: [{ role: 'user', content: 'hi' }], ...body } });

  beforeAll(async () => {
    env = await startLlmEnv();
  }, 60_000);
  afterAll(() => env.close());
  beforeEach(() => {
    env.openai.reset();
    env.anthropic.reset();
  });

  it('14.11 regression: a chat call with n > 1 reserves credits for every choice, so it cannot overshoot the budget', async () => {
    // gpt-4o: $10 per million output tokens, so 1000 tokens per choice = $0.01
    const key = await keyWithCredits(0.03);
    const four = await chat(key, { model: 'openai/gpt-4o', max_tokens: 1000, n: 4 });
    expect(four.status).toBe(402);
    expect(four.body.error.code).toBe('insufficient_credits');
    expect(four.body.error.message).toMatch(/needs up to \$0\.04/);
    expect(env.openai.requests).toHaveLength(0);

    const two = await chat(key, { model: 'openai/gpt-4o', max_tokens: 1000, n: 2 });
    expect(two.status).toBe(200);
    expect(env.openai.requests[0].body.n).toBe(2);
  });

  it('an Anthropic target has no n: a call that can only be served there reserves for one answer', async () => {
    const key = await keyWithCredits(0.02);
    // claude-haiku-4-5: $5 per million output tokens; 2000 tokens = $0.01 — n has no effect there
    const res = await messages(key, { model: 'claude-haiku-4-5', max_tokens: 2000, n: 3 });
    expect(res.status).toBe(200);
  });

  it('14.11 regression: Anthropic web searches are reserved up to max_uses and billed per search as reported', async () => {
    const key = await keyWithCredits(1);
    const res = await messages(key, {
      model: 'claude-haiku-4-5', max_tokens: 100,
      tools: [{ type: 'web_search_20250305', name: 'web_search', max_uses: 3 }],
    });
    expect(res.status).toBe(200);
    expect(res.body.usage.server_tool_use).toEqual({ web_search_requests: 3 });
    const row = await env.usageOf(res.headers.get('x-request-id')!);
    const tokens = row.prompt_tokens * 1 + row.completion_tokens * 5; // $1 / $5 per million
    expect(Number(row.cost_micros)).toBe(tokens + 3 * 10_000); // $0.01 per search

    // the same, streamed natively
    const streamed = await messages(key, {
      model: 'claude-haiku-4-5', max_tokens: 100, stream: true,
      tools: [{ type: 'web_search_20250305', name: 'web_search', max_uses: 2 }],
    });
    expect(streamed.status).toBe(200);
    const streamedRow = await env.usageOf(streamed.headers.get('x-request-id')!);
    expect(streamedRow.estimated).toBe(false);
    expect(Number(streamedRow.cost_micros)).toBe(streamedRow.prompt_tokens + streamedRow.completion_tokens * 5 + 2 * 10_000);

    // the reservation counts the searches the call allows: 5 searches ($0.05) do not fit in $0.04
    const small = await keyWithCredits(0.04);
    const refused = await messages(small, { model: 'claude-haiku-4-5', max_tokens: 10, tools: [{ type: 'web_search_20250305', name: 'web_search', max_uses: 5 }] });
    expect(refused.status).toBe(402);
    expect(env.anthropic.requests).toHaveLength(2);
  });

  it('an OpenAI chat call with web_search_options is billed its search', async () => {
    const key = await keyWithCredits(1);
    const res = await chat(key, { model: 'openai/gpt-4o', web_search_options: {} });
    expect(res.status).toBe(200);
    const row = await env.usageOf(res.headers.get('x-request-id')!);
    expect(row.prompt_tokens).toBe(countTokens('hi'));
    expect(Number(row.cost_micros)).toBe(Math.round(row.prompt_tokens * 2.5 + row.completion_tokens * 10) + 10_000);
  });
});
