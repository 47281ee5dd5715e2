import { parseSse, readBody, startAnthropicMock, startOpenAIMock, startRestMock, type MockUpstream } from '../mocks';

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

describe('faults', () => {
  it('answers a status fault with retry-after and the protocol error body', async () => {
    openai.fail({ kind: 'status', status: 429, retryAfter: 7 }, { times: 1 });
    const limited = await postOpenAI('/v1/chat/completions', userChat('x'));
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('7');
    expect((await limited.json()).error).toMatchObject({ type: 'requests', code: 'rate_limit_exceeded' });
    openai.fail({ kind: 'status', status: 500 }, { times: 1 });
    expect((await (await postOpenAI('/v1/chat/completions', userChat('x'))).json()).error.type).toBe('server_error');
    openai.fail({ kind: 'status', status: 401 }, { times: 1 });
    const denied = await postOpenAI('/v1/chat/completions', userChat('x'), 'sk-secret-value-1234');
    expect(denied.status).toBe(401);
    const message: string = (await denied.json()).error.message;
    expect(message).toContain('1234');
    expect(message).not.toContain('secret-value');
    rest.fail({ kind: 'status', status: 503, body: { custom: true } }, { times: 1 });
    const custom = await call(`${rest.url}/anything`);
    expect([custom.status, await custom.json()]).toEqual([503, { custom: true }]);
    expect(openai.requests).toHaveLength(3);
  });

  it('consumes `times` and lets clearFaults end a fault', async () => {
    rest.fail({ kind: 'status', status: 500 }, { times: 2 });
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await call(`${rest.url}/x`)).status);
    expect(statuses).toEqual([500, 500, 200]);
    rest.fail({ kind: 'status', status: 502 });
    expect((await call(`${rest.url}/x`)).status).toBe(502);
    expect((await call(`${rest.url}/x`)).status).toBe(502);
    rest.clearFaults();
    expect((await call(`${rest.url}/x`)).status).toBe(200);
  });

  it('scopes a fault to one credential', async () => {
    openai.fail({ kind: 'status', status: 429 }, { credential: 'sk-key-a' });
    expect((await postOpenAI('/v1/chat/completions', userChat('x'), 'sk-key-b')).status).toBe(200);
    expect((await postOpenAI('/v1/chat/completions', userChat('x'), 'sk-key-a')).status).toBe(429);
    expect((await postOpenAI('/v1/chat/completions', userChat('x'), 'sk-key-b')).status).toBe(200);
    openai.clearFaults();
    openai.fail({ kind: 'status', status: 500 }, { credential: 'sk-key-c', times: 1 });
    expect((await postOpenAI('/v1/chat/completions', userChat('x'), 'sk-key-b')).status).toBe(200);
    expect((await postOpenAI('/v1/chat/completions', userChat('x'), 'sk-key-c')).status).toBe(500);
    expect((await postOpenAI('/v1/chat/completions', userChat('x'), 'sk-key-c')).status).toBe(200);
  });

  it('delays an answer', async () => {
    rest.fail({ kind: 'delay', ms: 150 }, { times: 1 });
    const started = Date.now();
    expect((await call(`${rest.url}/slow`)).status).toBe(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
  });

  it('drops the connection before any byte, and still records the request', async () => {
    openai.fail({ kind: 'drop' }, { times: 1 });
    await expect(postOpenAI('/v1/chat/completions', userChat('x'))).rejects.toThrow();
    expect(openai.requests).toHaveLength(1);
    expect((await postOpenAI('/v1/chat/completions', userChat('x'))).status).toBe(200);
  });

  it('drops a stream after N events, and cuts a JSON answer short', async () => {
    anthropic.fail({ kind: 'dropMidStream', afterChunks: 3 }, { times: 1 });
    const res = await postAnthropic(userMessage('x', { stream: true }));
    expect(res.status).toBe(200);
    const { text, error } = await readBody(res);
    expect(error).toBeDefined();
    expect(parseSse(text).map((e) => e.event)).toEqual(['message_start', 'content_block_start', 'ping']);
    openai.fail({ kind: 'dropMidStream', afterChunks: 1 }, { times: 1 });
    await expect((await postOpenAI('/v1/chat/completions', userChat('x'))).json()).rejects.toThrow();
  });

  it('adds headers to a normal answer', async () => {
    openai.fail({ kind: 'headers', headers: { 'x-ratelimit-remaining-requests': '0' } }, { times: 1 });
    const res = await postOpenAI('/v1/chat/completions', userChat('x'));
    expect(res.status).toBe(200);
    expect(res.headers.get('x-ratelimit-remaining-requests')).toBe('0');
    expect((await res.json()).object).toBe('chat.completion');
  });

  it('reset clears recorded requests and faults', async () => {
    rest.fail({ kind: 'status', status: 500 });
    await call(`${rest.url}/x`);
    rest.reset();
    expect(rest.requests).toHaveLength(0);
    expect((await call(`${rest.url}/x`)).status).toBe(200);
  });
});
