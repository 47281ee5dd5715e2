/** A local stand-in for api.openai.com: chat completions, responses, embeddings and models under /v1. */
import { createHash } from 'node:crypto';
import { chatCompletionReply, type ChatRequest } from './openai-chat';
import { startMockServer, type MockProtocol, type MockReply } from './server';
import { countTokens } from './text';
import { OpenAIResponsesMock } from './openai-responses';
import { completionReply, imageReply, moderationReply, normalizePath } from './openai-extra';
import type { MockOptions, MockUpstream, RecordedRequest } from './types';

export const OPENAI_MODELS = ['gpt-4o', 'gpt-4o-mini', 'gpt-4.1', 'text-embedding-3-small', 'text-embedding-3-large'];
export const EMBEDDING_DIMENSIONS = 8;

function openaiError(status: number, message: string, type: string, code: string | null = null, param: string | null = null): MockReply {
  return { kind: 'json', status, body: { error: { message, type, param, code } } };
}

/** The real API shows the first and last characters of a rejected key; so does the mock. */
function maskKey(key: string | null): string {
  if (!key) return '';
  return key.length > 8 ? `${key.slice(0, 3)}${'*'.repeat(key.length - 7)}${key.slice(-4)}` : '****';
}

function defaultErrorBody(status: number, req?: RecordedRequest): unknown {
  const error = (message: string, type: string, code: string | null = null) => ({ error: { message, type, param: null, code } });
  if (status === 401) {
    return error(`Incorrect API key provided: ${maskKey(req?.credential ?? null)}.`, 'invalid_request_error', 'invalid_api_key');
  }
  if (status === 403) return error('You are not allowed to access this resource.', 'invalid_request_error', 'unsupported_country_region_territory');
  if (status === 404) return error('The requested resource does not exist.', 'invalid_request_error');
  if (status === 429) return error('Rate limit reached for requests. Please try again later.', 'requests', 'rate_limit_exceeded');
  if (status === 503) return error('The engine is currently overloaded, please try again later.', 'server_error');
  if (status >= 500) return error('The server had an error while processing your request. Sorry about that!', 'server_error');
  return error('Invalid request.', 'invalid_request_error');
}

function hasBearer(req: RecordedRequest): boolean {
  const auth = req.headers.authorization;
  return typeof auth === 'string' && /^Bearer\s+\S+/i.test(auth);
}

function isObject(body: unknown): body is Record<string, unknown> {
  return typeof body === 'object' && body !== null && !Array.isArray(body);
}

/** Deterministic vector from the text, rounded to float32 so JSON and base64 answers agree. */
function embeddingOf(text: string): number[] {
  const digest = createHash('sha256').update(text).digest();
  return Array.from({ length: EMBEDDING_DIMENSIONS }, (_, i) => Math.fround(digest[i] / 127.5 - 1));
}

function embeddingsReply(body: Record<string, unknown>): MockReply {
  const { input, model } = body;
  if (typeof model !== 'string') return openaiError(400, "you must provide a model parameter", 'invalid_request_error', null, 'model');
  const inputs = typeof input === 'string' ? [input] : Array.isArray(input) && input.length > 0 ? input : null;
  if (!inputs) return openaiError(400, "'input' must be a non-empty string or array", 'invalid_request_error', null, 'input');
  const texts = inputs.map((item) => (typeof item === 'string' ? item : JSON.stringify(item)));
  const base64 = body.encoding_format === 'base64';
  const data = texts.map((text, index) => {
    const vector = embeddingOf(text);
    const embedding = base64 ? Buffer.from(new Float32Array(vector).buffer).toString('base64') : vector;
    return { object: 'embedding', index, embedding };
  });
  const promptTokens = texts.reduce((sum, text) => sum + countTokens(text), 0);
  return {
    kind: 'json',
    status: 200,
    body: { object: 'list', data, model, usage: { prompt_tokens: promptTokens, total_tokens: promptTokens } },
  };
}

const MODEL_CREATED = 1715367049;

function modelObject(id: string) {
  return { id, object: 'model', created: MODEL_CREATED, owned_by: 'system' };
}

function validateChat(body: Record<string, unknown>): MockReply | null {
  if (typeof body.model !== 'string') return openaiError(400, "you must provide a model parameter", 'invalid_request_error', null, 'model');
  if (!Array.isArray(body.messages) || body.messages.length === 0) {
    return openaiError(400, "Invalid 'messages': empty array. Expected an array with minimum length 1.", 'invalid_request_error', 'empty_array', 'messages');
  }
  const bad = body.messages.findIndex((m) => !isObject(m) || typeof m.role !== 'string');
  if (bad >= 0) return openaiError(400, `Missing required parameter: 'messages[${bad}].role'.`, 'invalid_request_error', 'missing_required_parameter', `messages[${bad}].role`);
  return null;
}

function createOpenAIProtocol(): MockProtocol {
  let seq = 0;
  const responses = new OpenAIResponsesMock();
  const route = (original: RecordedRequest): MockReply => {
    const where = normalizePath(original);
    if ('error' in where) return openaiError(404, where.error, 'invalid_request_error');
    const req = { ...original, path: where.path };
    original.credential = where.credential; // what a test checks: the credential this provider reads
    const known =
      req.path === '/v1/responses' ||
      req.path.startsWith('/v1/responses/') ||
      (req.method === 'POST' && ['/v1/chat/completions', '/v1/embeddings', '/v1/completions', '/v1/moderations', '/v1/images/generations'].includes(req.path)) ||
      (req.method === 'GET' && (req.path === '/v1/models' || req.path.startsWith('/v1/models/')));
    if (!known) return openaiError(404, `Invalid URL (${req.method} ${req.path})`, 'invalid_request_error');
    if (where.bearer ? !hasBearer(req) : !where.credential) {
      return openaiError(
        401,
        "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
        'invalid_request_error',
      );
    }
    if (req.path.startsWith('/v1/responses')) return responses.handle(req) ?? openaiError(404, `Invalid URL (${req.method} ${req.path})`, 'invalid_request_error');
    if (req.method === 'GET') {
      if (req.path === '/v1/models') return { kind: 'json', status: 200, body: { object: 'list', data: OPENAI_MODELS.map(modelObject) } };
      const id = decodeURIComponent(req.path.slice('/v1/models/'.length));
      if (!OPENAI_MODELS.includes(id)) return openaiError(404, `The model '${id}' does not exist`, 'invalid_request_error', 'model_not_found', 'model');
      return { kind: 'json', status: 200, body: modelObject(id) };
    }
    if (!isObject(req.body)) {
      return openaiError(400, 'We could not parse the JSON body of your request. (HINT: This likely means you aren\'t using your HTTP library correctly.)', 'invalid_request_error');
    }
    if (req.path === '/v1/embeddings') return embeddingsReply(req.body);
    if (req.path === '/v1/completions') return completionReply(req.body, ++seq);
    if (req.path === '/v1/moderations') return moderationReply(req.body, ++seq);
    if (req.path === '/v1/images/generations') return imageReply(req.body);
    const invalid = validateChat(req.body);
    if (invalid) return invalid;
    seq += 1;
    return chatCompletionReply(req.body as unknown as ChatRequest, seq);
  };
  let requestSeq = 0;
  return {
    handle: route,
    errorBody: defaultErrorBody,
    baseHeaders: () => ({
      'x-request-id': `req_mock${++requestSeq}`,
      'openai-processing-ms': '5',
      'x-ratelimit-limit-requests': '10000',
      'x-ratelimit-remaining-requests': '9999',
      'x-ratelimit-reset-requests': '6ms',
      'x-ratelimit-limit-tokens': '1000000',
      'x-ratelimit-remaining-tokens': '999000',
      'x-ratelimit-reset-tokens': '60ms',
    }),
  };
}

export function startOpenAIMock(opts: MockOptions = {}): Promise<MockUpstream> {
  return startMockServer(createOpenAIProtocol(), opts);
}
