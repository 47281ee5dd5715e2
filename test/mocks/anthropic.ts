/** A local stand-in for api.anthropic.com: /v1/messages (JSON and SSE), count_tokens and models. */
import { inputTokensOf, messagesReply, type MessagesRequest } from './anthropic-messages';
import { startMockServer, type MockProtocol, type MockReply } from './server';
import type { MockOptions, MockUpstream, RecordedRequest } from './types';

/** The first API version without sampling parameters; later versions (compared as strings) behave alike. */
export const SAMPLING_FREE_VERSION = '2026-10-21';
export const ANTHROPIC_MODELS = ['claude-opus-4-7', 'claude-sonnet-4-6', 'claude-haiku-4-5'];

const ERROR_TYPES: Record<number, [string, string]> = {
  400: ['invalid_request_error', 'Invalid request.'],
  401: ['authentication_error', 'invalid x-api-key'],
  403: ['permission_error', 'Your API key does not have permission to use the specified resource.'],
  404: ['not_found_error', 'The requested resource could not be found.'],
  413: ['request_too_large', 'Request exceeds the maximum allowed number of bytes.'],
  429: ['rate_limit_error', 'Number of request tokens has exceeded your per-minute rate limit.'],
  500: ['api_error', 'Internal server error'],
  529: ['overloaded_error', 'Overloaded'],
};

function errorBody(status: number): unknown {
  const [type, message] = ERROR_TYPES[status] ?? (status >= 500 ? ERROR_TYPES[500] : ERROR_TYPES[400]);
  return { type: 'error', error: { type, message } };
}

function anthropicError(status: number, type: string, message: string): MockReply {
  return { kind: 'json', status, body: { type: 'error', error: { type, message } } };
}

function invalid(message: string): MockReply {
  return anthropicError(400, 'invalid_request_error', message);
}

function header(req: RecordedRequest, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function hasCredential(req: RecordedRequest): boolean {
  return Boolean(header(req, 'x-api-key')) || /^Bearer\s+\S+/i.test(header(req, 'authorization') ?? '');
}

function isObject(body: unknown): body is Record<string, unknown> {
  return typeof body === 'object' && body !== null && !Array.isArray(body);
}

/** The checks the real API applies to a Messages body, in the order it reports them. */
function validateMessages(body: Record<string, unknown>, version: string, countOnly: boolean): MockReply | null {
  if (typeof body.model !== 'string') return invalid('model: Field required');
  if (!Array.isArray(body.messages)) return invalid('messages: Field required');
  const bad = body.messages.findIndex((m) => !isObject(m) || (m.role !== 'user' && m.role !== 'assistant'));
  if (bad >= 0) return invalid(`messages.${bad}.role: Input should be 'user' or 'assistant'`);
  if (!countOnly && typeof body.max_tokens !== 'number') return invalid('max_tokens: Field required');
  if (version >= SAMPLING_FREE_VERSION) {
    const removed = ['temperature', 'top_p', 'top_k'].find((name) => body[name] !== undefined);
    if (removed) return invalid(`${removed}: this parameter is not supported in anthropic-version ${version}`);
  }
  return null;
}

function modelsList(): MockReply {
  const data = ANTHROPIC_MODELS.map((id) => ({ type: 'model', id, display_name: id, created_at: '2025-01-01T00:00:00Z' }));
  return { kind: 'json', status: 200, body: { data, has_more: false, first_id: data[0].id, last_id: data[data.length - 1].id } };
}

function createAnthropicProtocol(): MockProtocol {
  let seq = 0;
  let requestSeq = 0;
  const handle = (req: RecordedRequest): MockReply => {
    const isMessages = req.method === 'POST' && req.path === '/v1/messages';
    const isCount = req.method === 'POST' && req.path === '/v1/messages/count_tokens';
    const isModels = req.method === 'GET' && req.path === '/v1/models';
    if (!isMessages && !isCount && !isModels) return anthropicError(404, 'not_found_error', `Not found: ${req.method} ${req.path}`);
    if (!hasCredential(req)) return anthropicError(401, 'authentication_error', 'x-api-key header is required');
    const version = header(req, 'anthropic-version');
    if (!version) return invalid('anthropic-version: header is required');
    if (isModels) return modelsList();
    if (!isObject(req.body)) return invalid('There was an issue with your request body: it must be a JSON object.');
    const problem = validateMessages(req.body, version, isCount);
    if (problem) return problem;
    const body = req.body as unknown as MessagesRequest;
    if (isCount) return { kind: 'json', status: 200, body: { input_tokens: inputTokensOf(body) } };
    seq += 1;
    return messagesReply(body, seq);
  };
  return {
    handle,
    errorBody,
    baseHeaders: () => {
      const reset = new Date(Date.now() + 60_000).toISOString().replace(/\.\d{3}Z$/, 'Z');
      return {
        'request-id': `req_mock${++requestSeq}`,
        'anthropic-ratelimit-requests-limit': '4000',
        'anthropic-ratelimit-requests-remaining': '3999',
        'anthropic-ratelimit-requests-reset': reset,
        'anthropic-ratelimit-tokens-limit': '400000',
        'anthropic-ratelimit-tokens-remaining': '399000',
        'anthropic-ratelimit-tokens-reset': reset,
      };
    },
  };
}

export function startAnthropicMock(opts: MockOptions = {}): Promise<MockUpstream> {
  return startMockServer(createAnthropicProtocol(), opts);
}
