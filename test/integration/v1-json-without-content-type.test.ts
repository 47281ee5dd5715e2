import { TEST_BACKEND } from '../helpers/backend';
import { startLlmEnv, type LlmTestEnv } from '../helpers/llm';

/**
 * 14.16: OpenAI's API reads a body with no content type, or text/plain (what fetch gives a string body), as JSON,
 * and so does /v1 now; before, such a body was ignored and the call refused as if it were empty.
 */
describe(`/v1 bodies without a JSON content type (14.16, ${TEST_BACKEND})`, () => {
  let env: LlmTestEnv;
  const chat = { model: 'gpt-4o', messages: [{ role: 'user', content: 'Say hello' }], max_tokens: 20 };

  beforeAll(async () => {
    env = await startLlmEnv();
  });
  afterAll(() => env.close());
  beforeEach(() => env.openai.reset());

  const post = (path: string, body: string | Buffer, headers: Record<string, string> = {}) =>
    fetch(`${env.gw.url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${env.key}`, ...headers }, body });

  it('reads a chat completion with no content-type as JSON', async () => {
    const res = await post('/v1/chat/completions', Buffer.from(JSON.stringify(chat)));
    const body = (await res.json()) as { choices: { message: { content: string } }[] };
    expect(res.status).toBe(200);
    expect(body.choices[0].message.content).toBe('mock-openai reply to: Say hello');
    expect(env.openai.requests[0].body).toEqual(chat);
  });

  it.each(['text/plain;charset=UTF-8', 'text/plain'])('reads a chat completion sent as %s as JSON', async (type) => {
    const res = await post('/v1/chat/completions', JSON.stringify(chat), { 'content-type': type });
    expect(res.status).toBe(200);
    expect(env.openai.requests[0].body).toEqual(chat);
  });

  it('reads an Anthropic messages call with no content-type as JSON', async () => {
    const res = await post(
      '/v1/messages',
      Buffer.from(JSON.stringify({ model: 'claude-haiku-4-5', max_tokens: 20, messages: [{ role: 'user', content: 'Hi' }] })),
    );
    expect(res.status).toBe(200);
    expect(((await res.json()) as { type: string }).type).toBe('message');
  });

  it('still refuses a body that is not JSON, in OpenAI’s error shape', async () => {
    const res = await post('/v1/chat/completions', 'model=gpt-4o', { 'content-type': 'text/plain' });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: { message: string } };
    expect(body.error.message).toMatch(/JSON/i);
    expect(env.openai.requests).toHaveLength(0);
  });
});
