/**
 * OpenAI's protocol (api.openai.com and every OpenAI-compatible server: vLLM, Ollama, LM Studio…).
 * Requests and answers pass through with the minimum of parsing: only `model` is replaced, streams are
 * forced to report usage, and the bytes go back as they came.
 */
import { StringDecoder } from 'node:string_decoder';
import { redactSecrets } from '../anthropic/translate-response';
import { isRecord } from '../anthropic/translation-error';
import {
  type ClientAnswer,
  type LlmRequest,
  type ProviderAdapter,
  type StreamTranslator,
  type TokenUsage,
  type UpstreamRequest,
} from '../types';
import { bytesAsSent, tailMember } from '../json-scan';
import { OpenAIResponsesStream, responsesTokenUsage, responseWebSearches } from './responses-stream';
import { OpenAIStreamUsageReader } from './stream-usage';
import { openaiUsage } from './usage';

const PATHS = {
  chat: '/v1/chat/completions',
  completions: '/v1/completions',
  embeddings: '/v1/embeddings',
  responses: '/v1/responses',
  moderations: '/v1/moderations',
  images: '/v1/images/generations',
  audio: '/v1/audio/transcriptions',
  speech: '/v1/audio/speech',
} as const;

function buildRequest(req: LlmRequest): UpstreamRequest {
  if (req.surface === 'messages' || req.surface === 'count_tokens') throw new Error('the OpenAI protocol has no Messages API');
  if (req.upload) {
    const form = req.upload.form.body({ model: req.model });
    return { method: 'POST', path: req.upload.path, headers: { ...form.headers, accept: 'application/json' }, body: form.open };
  }
  const headers = { 'content-type': 'application/json', accept: req.stream ? 'text/event-stream' : 'application/json' };
  // Billing needs the provider's own count of a stream: usage is asked for unless the client did already.
  const addUsage = (req.surface === 'chat' || req.surface === 'completions') && req.stream && !req.clientWantsStreamUsage;
  const asSent = addUsage ? null : bytesAsSent(req);
  if (asSent) return { method: 'POST', path: PATHS[req.surface], headers, body: asSent };
  const body: Record<string, unknown> = { ...req.body, model: req.model };
  if (addUsage) {
    // the client's stream_options are kept otherwise
    const options = isRecord(req.body.stream_options) ? req.body.stream_options : {};
    body.stream_options = { ...options, include_usage: true };
  }
  return { method: 'POST', path: PATHS[req.surface], headers, body: JSON.stringify(body) };
}

function usageFrom(parsed: unknown): TokenUsage | null {
  return isRecord(parsed) ? openaiUsage(parsed.usage) : null;
}

/** A chat call with `web_search_options` (the search models) runs one web search, which OpenAI bills per call. */
function webSearchesOf(req: LlmRequest): number {
  return req.surface === 'chat' && isRecord(req.body.web_search_options) ? 1 : 0;
}

/** Searches the answer shows: a Response lists its web_search calls; a chat call made one if it asked for search. */
function answeredWebSearches(req: LlmRequest, parsed: unknown): number {
  return req.surface === 'responses' ? responseWebSearches(parsed) : webSearchesOf(req);
}

const withSearches = (usage: TokenUsage | null, searches: number): TokenUsage | null =>
  usage && searches > 0 ? { ...usage, webSearchRequests: searches } : usage;

/** Surfaces whose answer is read for its usage only: from the end of the bytes, which go back as they came. */
const USAGE_ONLY = new Set<LlmRequest['surface']>(['chat', 'completions', 'embeddings', 'moderations']);

function parseResponse(req: LlmRequest, body: Buffer): ClientAnswer | null {
  if (USAGE_ONLY.has(req.surface)) {
    const usage = tailMember(body, 'usage');
    if (usage) return { status: 200, body, usage: withSearches(openaiUsage(usage.value), webSearchesOf(req)) };
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    return null;
  }
  if (!isRecord(parsed)) return null;
  // The original bytes go back: re-serialising an embeddings answer would cost more than it is worth.
  let usage = withSearches(usageFrom(parsed), answeredWebSearches(req, parsed));
  // images are billed per image where the table says so (dall-e reports no usage at all)
  if (req.surface === 'images' && Array.isArray(parsed.data)) usage = { ...(usage ?? { promptTokens: 0, completionTokens: 0 }), images: parsed.data.length };
  return { status: 200, body, usage };
}

function mapError(_req: LlmRequest, status: number, body: Buffer): ClientAnswer {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    parsed = undefined;
  }
  const inner = isRecord(parsed) && isRecord(parsed.error) ? parsed.error : null;
  const message = typeof inner?.message === 'string' ? redactSecrets(inner.message) : `The upstream answered HTTP ${status}`;
  const error = {
    message,
    type: typeof inner?.type === 'string' ? inner.type : status >= 500 ? 'server_error' : 'invalid_request_error',
    code: typeof inner?.code === 'string' || typeof inner?.code === 'number' ? inner.code : null,
    param: typeof inner?.param === 'string' ? inner.param : null,
  };
  return { status, body: { error }, usage: null };
}

// The final usage-only chunk: no choices, a usage object.
const USAGE_OBJECT = /"usage"\s*:\s*\{/;
const FRAME_END = /\r\n\r\n|\n\n|\r\r/;

/**
 * Forwards the stream as it comes. When the client did not ask for usage (we did, for billing), the
 * usage-only chunk is held back: frames are then cut at their boundaries, nothing else is touched.
 */
class OpenAIChatStream implements StreamTranslator {
  private readonly reader = new OpenAIStreamUsageReader();
  // Keeps a multi-byte character split across two network chunks whole.
  private readonly decoder = new StringDecoder('utf8');
  private pending = '';

  constructor(
    private readonly dropUsageChunk: boolean,
    private readonly webSearches = 0,
  ) {}

  readonly failure = null;

  get usage(): TokenUsage | null {
    return withSearches(this.reader.usage, this.webSearches);
  }

  get completionText(): string {
    return this.reader.completionText;
  }

  push(chunk: Buffer): Buffer | string {
    this.reader.push(chunk);
    if (!this.dropUsageChunk) return chunk;
    this.pending += this.decoder.write(chunk);
    let out = '';
    for (let match = FRAME_END.exec(this.pending); match; match = FRAME_END.exec(this.pending)) {
      const end = match.index + match[0].length;
      const frame = this.pending.slice(0, end);
      this.pending = this.pending.slice(end);
      if (!isUsageOnlyFrame(frame)) out += frame;
    }
    return out;
  }

  finish(): string | null {
    this.reader.end();
    if (!this.reader.sawDone) return null;
    const rest = this.pending + this.decoder.end();
    this.pending = '';
    return rest;
  }
}

function isUsageOnlyFrame(frame: string): boolean {
  if (!USAGE_OBJECT.test(frame)) return false;
  const data = frame
    .split(/\r\n|\r|\n/)
    .filter((line) => line.startsWith('data:'))
    .map((line) => line.slice(5).replace(/^ /, ''))
    .join('\n');
  try {
    const parsed = JSON.parse(data) as { choices?: unknown };
    return Array.isArray(parsed.choices) && parsed.choices.length === 0;
  } catch {
    return false;
  }
}

export const openaiAdapter: ProviderAdapter = {
  protocol: 'openai',
  surfaces: ['chat', 'completions', 'embeddings', 'responses', 'moderations', 'images', 'audio', 'speech'],
  buildRequest,
  parseResponse,
  mapError,
  createStream: (req) =>
    req.surface === 'responses' ? new OpenAIResponsesStream() : new OpenAIChatStream(!req.clientWantsStreamUsage, webSearchesOf(req)),
};
