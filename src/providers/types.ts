/**
 * The one interface every LLM provider implements. Adding a provider is a folder with an adapter and one
 * line in ./registry.ts. An adapter is pure: it builds requests and reads answers, the caller does the I/O.
 */

/** The wire protocol a service speaks; a custom LLM service (a local vLLM, say) picks one in its metadata. */
export type LlmProtocol = 'openai' | 'anthropic';

/** The client-facing API a request came in on. */
export type LlmSurface = 'chat' | 'messages' | 'embeddings' | 'responses' | 'count_tokens' | 'completions' | 'moderations' | 'images' | 'audio' | 'speech';

/**
 * What a call used, as the provider reported it. `promptTokens` and `completionTokens` are totals; the optional
 * fields say which part of them is priced at its own rate (a cached read, reasoning, audio), and the units a
 * provider bills apart from tokens (images, seconds of audio, characters of speech).
 */
export interface TokenUsage {
  promptTokens: number;
  completionTokens: number;
  /** of promptTokens: read from the prompt cache */
  cacheReadTokens?: number;
  /** of promptTokens: written to the prompt cache (Anthropic) */
  cacheWriteTokens?: number;
  /** of promptTokens: audio input */
  audioInputTokens?: number;
  /** of completionTokens: reasoning */
  reasoningTokens?: number;
  /** of completionTokens: audio output */
  audioOutputTokens?: number;
  images?: number;
  seconds?: number;
  characters?: number;
  /** server-side web searches the provider ran for the call (billed per search on top of tokens) */
  webSearchRequests?: number;
}

/** One client request aimed at one concrete upstream model. */
export interface LlmRequest {
  surface: LlmSurface;
  /** the client's JSON body, as received */
  body: Record<string, unknown>;
  /**
   * `body` as the client sent it, byte for byte, where the route validated it without changing it. An adapter
   * that would send `body` unchanged sends these instead of re-serialising (see json-scan.ts for when it may).
   */
  rawBody?: Buffer;
  /** the concrete upstream model id (after alias resolution) */
  model: string;
  stream: boolean;
  /** the client asked for usage in the stream (`stream_options.include_usage`) */
  clientWantsStreamUsage: boolean;
  /** client headers a native surface forwards (anthropic-version, anthropic-beta), lower-case names */
  clientHeaders: Record<string, string | undefined>;
  /** anthropic-version used when translating from OpenAI's protocol (config.anthropicVersion) */
  anthropicVersion: string;
  /** the id a translated Responses answer gets (the gateway keeps translated responses itself) */
  responseId?: string;
  /** a multipart upload (audio, image edits): the API path and the spooled form, sent with `model` replaced */
  upload?: { path: string; form: UploadForm };
}

/** A multipart form that can be sent again for every attempt (llm/multipart.ts). */
export interface UploadForm {
  body(overrides: Record<string, string>): { headers: Record<string, string>; open: () => import('node:stream').Readable };
}

/** What leaves for the upstream; credentials are injected by the forwarder, never by the adapter. */
export interface UpstreamRequest {
  method: 'POST';
  /** path under the service's base URL */
  path: string;
  headers: Record<string, string>;
  /** a multipart upload opens a fresh stream per attempt */
  body: string | Buffer | (() => import('node:stream').Readable);
}

/** A finished answer in the client's protocol. */
export interface ClientAnswer {
  status: number;
  body: unknown;
  usage: TokenUsage | null;
  /** the upstream's own content type, where the answer is not JSON by nature (audio, transcripts as text) */
  contentType?: string;
}

/** An upstream failure that ended a stream after it started (the status line was already sent). */
export interface StreamFailure {
  code: string;
  type: string;
  message: string;
  /** the upstream's own error event already reached the client in its protocol: add nothing */
  forwarded: boolean;
}

/**
 * Turns an upstream SSE byte stream into what the client receives, reading usage on the way.
 * push() never throws: an in-band upstream error sets `failure` and the caller ends the stream.
 */
export interface StreamTranslator {
  /** bytes for the client (possibly empty) from one upstream chunk */
  push(chunk: Buffer): Buffer | string;
  /** the upstream ended: the closing bytes when it finished properly (or after `failure` was set), null when it was cut short */
  finish(): string | null;
  readonly failure: StreamFailure | null;
  /** usage the provider reported, null when it never did (cut short, or an old upstream) */
  readonly usage: TokenUsage | null;
  /** output text seen so far, to estimate completion tokens when usage never came */
  readonly completionText: string;
  /** Responses streams: the finished Response object once the terminal event passed */
  readonly responseObject?: Record<string, unknown> | null;
}

export interface ProviderAdapter {
  readonly protocol: LlmProtocol;
  /** surfaces this protocol can serve; others are refused with 400 before any upstream call */
  readonly surfaces: readonly LlmSurface[];
  buildRequest(req: LlmRequest): UpstreamRequest;
  /** a 2xx body → the client's answer and the usage it reports; null when the body is not an answer of this
   *  protocol (HTML, broken JSON): the attempt then fails like a 5xx */
  parseResponse(req: LlmRequest, body: Buffer): ClientAnswer | null;
  /** a final non-2xx body → an error in the client's protocol (secrets never pass). Which statuses are final
   *  (anything but 401/403/408/429/5xx) is decided once for every service by proxy/forward.ts. */
  mapError(req: LlmRequest, status: number, body: Buffer): ClientAnswer;
  createStream(req: LlmRequest): StreamTranslator;
}

/** A stream that stopped before its terminal event (socket closed, idle timeout). */
export function streamCutFailure(message = 'The upstream stream ended before the response was complete'): StreamFailure {
  return { code: 'upstream_stream_interrupted', type: 'server_error', message, forwarded: false };
}

