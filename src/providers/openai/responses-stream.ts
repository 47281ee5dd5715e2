/**
 * A native OpenAI Responses stream: the bytes pass through untouched; on the way the response id
 * (response.created), the usage and the final Response (response.completed / response.incomplete) and an
 * in-band failure (response.failed, error) are read. The failure event already reached the client.
 */
import { redactSecrets } from '../anthropic/translate-response';
import { isRecord } from '../anthropic/translation-error';
import { SseParser, type SseEvent } from '../sse';
import type { StreamFailure, StreamTranslator, TokenUsage } from '../types';
import { openaiUsage } from './usage';

/** Responses usage (input_tokens / output_tokens and their details), as the gateway counts it. */
export function responsesTokenUsage(usage: unknown): TokenUsage | null {
  if (!isRecord(usage) || typeof usage.input_tokens !== 'number') return null;
  return openaiUsage(usage);
}

/** The web_search tool calls a Response made (its `web_search_call` output items): OpenAI bills each. */
export function responseWebSearches(response: unknown): number {
  if (!isRecord(response) || !Array.isArray(response.output)) return 0;
  return response.output.filter((item) => isRecord(item) && item.type === 'web_search_call').length;
}

/** The usage of a whole Response, its web searches included. */
export function responseUsage(response: Record<string, unknown>): TokenUsage | null {
  const usage = responsesTokenUsage(response.usage);
  const searches = responseWebSearches(response);
  return usage && searches > 0 ? { ...usage, webSearchRequests: searches } : usage;
}

const TERMINAL = new Set(['response.completed', 'response.incomplete']);

export class OpenAIResponsesStream implements StreamTranslator {
  private readonly parser = new SseParser();
  private readonly pieces: string[] = [];
  private final: Record<string, unknown> | null = null;
  usage: TokenUsage | null = null;
  failure: StreamFailure | null = null;
  responseId: string | null = null;

  get completionText(): string {
    return this.pieces.join('');
  }

  get responseObject(): Record<string, unknown> | null {
    return this.final;
  }

  push(chunk: Buffer): Buffer {
    for (const event of this.parser.push(chunk)) this.observe(event);
    return chunk;
  }

  finish(): string | null {
    for (const event of this.parser.flush()) this.observe(event);
    return this.final || this.failure ? '' : null;
  }

  private observe(event: SseEvent): void {
    let data: unknown;
    try {
      data = JSON.parse(event.data);
    } catch {
      return; // the client receives the same bytes and decides
    }
    if (!isRecord(data)) return;
    const type = typeof data.type === 'string' ? data.type : event.event;
    const response = isRecord(data.response) ? data.response : null;
    if (type === 'response.created' && typeof response?.id === 'string') this.responseId = response.id;
    else if (type === 'response.output_text.delta' || type === 'response.function_call_arguments.delta') {
      if (typeof data.delta === 'string') this.pieces.push(data.delta);
    } else if (type && TERMINAL.has(type) && response) {
      this.final = response;
      this.usage = responseUsage(response);
    } else if (type === 'response.failed' || type === 'error') {
      const error = isRecord(response?.error) ? response.error : data;
      const code = typeof error.code === 'string' ? error.code : 'upstream_error';
      const message = typeof error.message === 'string' ? redactSecrets(error.message) : 'The upstream reported an error mid-stream';
      this.failure = { code, type: 'server_error', message, forwarded: true };
      if (response) this.usage = responsesTokenUsage(response.usage);
    }
  }
}
