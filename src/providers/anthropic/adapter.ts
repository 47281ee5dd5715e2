/**
 * Anthropic's protocol. On /v1/messages it is native (bodies and streams pass through, only `model` is
 * replaced); on /v1/chat/completions requests, answers, streams and errors are translated from and to OpenAI's.
 */
import type Anthropic from '@anthropic-ai/sdk';
import { SseParser, type SseEvent } from '../sse';
import {
  type ClientAnswer,
  type LlmRequest,
  type ProviderAdapter,
  type StreamFailure,
  type StreamTranslator,
  type TokenUsage,
  type UpstreamRequest,
} from '../types';
import { toAnthropicRequest } from './translate-request';
import { fromAnthropicError, fromAnthropicMessage, redactSecrets, usageOf } from './translate-response';
import { AnthropicToOpenAIStream, UpstreamStreamError } from './translate-stream';
import { responseFromAnthropic } from './responses-answer';
import { AnthropicResponsesStream } from './responses-stream';
import { responsesToChat } from '../responses/to-chat';
import { responseItemId } from '../responses/objects';
import { isRecord } from './translation-error';
import { bytesAsSent, tailMember } from '../json-scan';

const nativePath = (req: LlmRequest) => (req.surface === 'count_tokens' ? '/v1/messages/count_tokens' : '/v1/messages');

function buildRequest(req: LlmRequest): UpstreamRequest {
  if (req.surface === 'embeddings') throw new Error('the Anthropic protocol has no embeddings API');
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    accept: req.stream ? 'text/event-stream' : 'application/json',
  };
  let body: unknown;
  if (req.surface === 'chat') {
    headers['anthropic-version'] = req.anthropicVersion;
    body = toAnthropicRequest(req.body, { model: req.model, version: req.anthropicVersion });
  } else if (req.surface === 'responses') {
    headers['anthropic-version'] = req.anthropicVersion;
    body = toAnthropicRequest(responsesToChat(req.body), { model: req.model, version: req.anthropicVersion });
  } else {
    // Native: the client's version and betas decide what the body may contain, so they travel with it.
    headers['anthropic-version'] = req.clientHeaders['anthropic-version'] || req.anthropicVersion;
    const beta = req.clientHeaders['anthropic-beta'];
    if (beta) headers['anthropic-beta'] = beta;
    const asSent = bytesAsSent(req);
    if (asSent) return { method: 'POST', path: nativePath(req), headers, body: asSent };
    body = { ...req.body, model: req.model };
  }
  return { method: 'POST', path: nativePath(req), headers, body: JSON.stringify(body) };
}

function parseJson(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    return undefined;
  }
}

/** `usage.server_tool_use.web_search_requests`: searches Anthropic ran and bills per search. */
function webSearchesOf(usage: unknown): number | undefined {
  const tools = isRecord(usage) && isRecord(usage.server_tool_use) ? usage.server_tool_use : null;
  const n = tools?.web_search_requests;
  return typeof n === 'number' && Number.isFinite(n) && n > 0 ? Math.floor(n) : undefined;
}

/** Anthropic counts cached input apart from input_tokens: all prompt to us, the cached parts priced at their own rates. */
function tokenUsage(usage: unknown): TokenUsage | null {
  if (!isRecord(usage)) return null;
  const u = usageOf(usage as Partial<Anthropic.Usage>);
  const out = withCache({ promptTokens: u.prompt_tokens, completionTokens: u.completion_tokens }, usage.cache_read_input_tokens, usage.cache_creation_input_tokens);
  const searches = webSearchesOf(usage);
  if (searches) out.webSearchRequests = searches;
  return out;
}

export function withCache(usage: TokenUsage, read: unknown, write: unknown): TokenUsage {
  if (typeof read === 'number' && read > 0) usage.cacheReadTokens = read;
  if (typeof write === 'number' && write > 0) usage.cacheWriteTokens = write;
  return usage;
}

/** The searches a stream reported so far (message_start, then cumulative message_delta counts). */
function noteWebSearches(event: SseEvent, seen: number): number {
  if (event.event !== 'message_start' && event.event !== 'message_delta') return seen;
  try {
    const data = JSON.parse(event.data) as unknown;
    if (!isRecord(data)) return seen;
    const usage = isRecord(data.message) ? data.message.usage : data.usage;
    return Math.max(seen, webSearchesOf(usage) ?? 0);
  } catch {
    return seen; // the translator reports the malformed event
  }
}

const withSearches = (usage: TokenUsage | null, searches: number): TokenUsage | null =>
  usage && searches > 0 ? { ...usage, webSearchRequests: searches } : usage;

function parseResponse(req: LlmRequest, body: Buffer): ClientAnswer | null {
  if (req.surface === 'messages') {
    // native: the bytes go back as they came, and a Message ends with its usage
    const usage = tailMember(body, 'usage');
    if (usage) return { status: 200, body, usage: tokenUsage(usage.value) };
  }
  const parsed = parseJson(body);
  if (!isRecord(parsed)) return null;
  if (req.surface === 'messages') return { status: 200, body, usage: tokenUsage(parsed.usage) };
  // token counting is free: the answer passes as it came, nothing is billed
  if (req.surface === 'count_tokens') return { status: 200, body, usage: null };
  // Translation needs a Message; anything else is as useless to an OpenAI client as broken JSON.
  if (!Array.isArray(parsed.content)) return null;
  const message = parsed as unknown as Anthropic.Message;
  if (req.surface === 'responses') {
    const id = req.responseId ?? responseItemId('resp');
    return { status: 200, body: responseFromAnthropic(message, { request: req.body, id, createdAt: Math.floor(Date.now() / 1000) }), usage: tokenUsage(message.usage) };
  }
  // The concrete model that answered, as OpenAI reports it (an alias is resolved by the time it answers).
  const completion = fromAnthropicMessage(message, { model: message.model || req.model });
  return { status: 200, body: completion, usage: tokenUsage(message.usage) };
}

const NATIVE_ERROR_TYPES: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  403: 'permission_error',
  404: 'not_found_error',
  413: 'request_too_large',
  429: 'rate_limit_error',
  529: 'overloaded_error',
};

function mapError(req: LlmRequest, status: number, body: Buffer): ClientAnswer {
  const parsed = parseJson(body);
  if (req.surface === 'chat' || req.surface === 'responses') {
    const translated = fromAnthropicError(status, parsed ?? body);
    return { status: translated.status, body: { error: translated.error }, usage: null };
  }
  const inner = isRecord(parsed) && isRecord(parsed.error) ? parsed.error : null;
  const error = {
    type: typeof inner?.type === 'string' ? inner.type : (NATIVE_ERROR_TYPES[status] ?? (status >= 500 ? 'api_error' : 'invalid_request_error')),
    message: typeof inner?.message === 'string' ? redactSecrets(inner.message) : `Anthropic returned HTTP ${status}`,
  };
  return { status, body: { type: 'error', error }, usage: null };
}

function failureOf(err: unknown): StreamFailure {
  if (err instanceof UpstreamStreamError) {
    return { code: err.error.code ?? err.upstreamType, type: err.error.type, message: err.error.message, forwarded: false };
  }
  return { code: 'bad_upstream_stream', type: 'server_error', message: 'Anthropic sent a stream the gateway could not read', forwarded: false };
}

/** Text and tool input the model produced, for an estimate when the stream is cut before its usage. */
function outputTextOf(data: Record<string, unknown>): string {
  const delta = isRecord(data.delta) ? data.delta : null;
  if (data.type !== 'content_block_delta' || !delta) return '';
  if (typeof delta.text === 'string') return delta.text;
  if (typeof delta.partial_json === 'string') return delta.partial_json;
  if (typeof delta.thinking === 'string') return delta.thinking;
  return '';
}

/** Anthropic stream → OpenAI chat.completion.chunk frames. */
class AnthropicChatStream implements StreamTranslator {
  private readonly parser = new SseParser();
  private readonly translator: AnthropicToOpenAIStream;
  private readonly pieces: string[] = [];
  private sawStart = false;
  private webSearches = 0;
  failure: StreamFailure | null = null;

  constructor(req: LlmRequest) {
    this.translator = new AnthropicToOpenAIStream({ model: req.model, includeUsage: req.clientWantsStreamUsage });
  }

  get usage(): TokenUsage | null {
    return this.sawStart ? withSearches(this.translator.usage, this.webSearches) : null;
  }

  get completionText(): string {
    return this.pieces.join('');
  }

  push(chunk: Buffer): string {
    return this.translate(this.parser.push(chunk));
  }

  finish(): string | null {
    const tail = this.translate(this.parser.flush());
    if (this.failure) return tail;
    if (!this.translator.sawMessageStop) return null;
    return tail + this.translator.finish();
  }

  private translate(events: SseEvent[]): string {
    let out = '';
    for (const event of events) {
      if (this.failure) break;
      try {
        this.observe(event);
        out += this.translator.push(event);
      } catch (err) {
        this.failure = failureOf(err);
      }
    }
    return out;
  }

  private observe(event: SseEvent): void {
    if (event.event === 'message_start') this.sawStart = true;
    this.webSearches = noteWebSearches(event, this.webSearches);
    if (event.event !== 'content_block_delta') return;
    try {
      const data = JSON.parse(event.data) as unknown;
      if (isRecord(data)) this.pieces.push(outputTextOf(data));
    } catch {
      // the translator reports the malformed event
    }
  }
}

/** Native Anthropic stream: the bytes pass through untouched; usage and the end are read on the way. */
class AnthropicNativeStream implements StreamTranslator {
  private readonly parser = new SseParser();
  private readonly pieces: string[] = [];
  private input: Record<string, unknown> | null = null;
  private outputTokens = 0;
  private webSearches = 0;
  private stopped = false;
  failure: StreamFailure | null = null;

  get usage(): TokenUsage | null {
    if (!this.input) return null;
    const input = tokenUsage(this.input);
    return withSearches({ ...input, promptTokens: input?.promptTokens ?? 0, completionTokens: this.outputTokens }, this.webSearches);
  }

  get completionText(): string {
    return this.pieces.join('');
  }

  push(chunk: Buffer): Buffer {
    for (const event of this.parser.push(chunk)) this.observe(event);
    return chunk;
  }

  finish(): string | null {
    for (const event of this.parser.flush()) this.observe(event);
    return this.stopped || this.failure ? '' : null;
  }

  private observe(event: SseEvent): void {
    if (event.event === 'ping') return;
    let data: unknown;
    try {
      data = JSON.parse(event.data);
    } catch {
      return; // the client receives the same bytes and decides
    }
    if (!isRecord(data)) return;
    const message = isRecord(data.message) ? data.message : null;
    const usage = isRecord(data.usage) ? data.usage : null;
    switch (data.type) {
      case 'message_start':
        if (message && isRecord(message.usage)) {
          this.input = message.usage;
          if (typeof message.usage.output_tokens === 'number') this.outputTokens = message.usage.output_tokens;
          this.webSearches = Math.max(this.webSearches, webSearchesOf(message.usage) ?? 0);
        }
        break;
      case 'message_delta':
        // Cumulative counts; a newer API may restate the input too.
        if (usage && typeof usage.output_tokens === 'number') this.outputTokens = usage.output_tokens;
        this.webSearches = Math.max(this.webSearches, webSearchesOf(usage) ?? 0);
        if (usage && typeof usage.input_tokens === 'number') this.input = { ...this.input, ...usage };
        break;
      case 'content_block_delta':
        this.pieces.push(outputTextOf(data));
        break;
      case 'message_stop':
        this.stopped = true;
        break;
      case 'error': {
        const error = isRecord(data.error) ? data.error : {};
        this.failure = {
          code: typeof error.type === 'string' ? error.type : 'api_error',
          type: typeof error.type === 'string' ? error.type : 'api_error',
          message: typeof error.message === 'string' ? redactSecrets(error.message) : 'Anthropic reported an error mid-stream',
          forwarded: true,
        };
        break;
      }
      default:
        break;
    }
  }
}

export const anthropicAdapter: ProviderAdapter = {
  protocol: 'anthropic',
  surfaces: ['chat', 'messages', 'responses', 'count_tokens'],
  buildRequest,
  parseResponse,
  mapError,
  createStream: (req) =>
    req.surface === 'messages' ? new AnthropicNativeStream() : req.surface === 'responses' ? new AnthropicResponsesStream(req) : new AnthropicChatStream(req),
};
