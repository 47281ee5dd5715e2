/**
 * Anthropic Messages SSE events → OpenAI `chat.completion.chunk` SSE frames, one event at a time.
 * The caller owns the sockets: it feeds parsed upstream events in, writes what comes out, and on
 * the end of the upstream calls finish() only if `sawMessageStop` (otherwise the stream was cut
 * and the client must get an error event, not a clean-looking `[DONE]`).
 */
import type Anthropic from '@anthropic-ai/sdk';
import type OpenAI from 'openai';
import { formatSse, type SseEvent } from '../sse';
import type { TokenUsage } from '../types';
import { isRecord } from './translation-error';
import { chatCompletionId, finishReasonOf, fromAnthropicError, usageOf, type FinishReason, type OpenAIErrorBody } from './translate-response';

export interface AnthropicStreamOptions {
  /** The model name the client asked for, which may be an alias. */
  model: string;
  id?: string;
  /** Unix seconds. */
  created?: number;
  /** The client sent `stream_options.include_usage`: add `usage: null` to chunks and a final usage chunk. */
  includeUsage: boolean;
}

type Delta = OpenAI.ChatCompletionChunk.Choice.Delta;

/** An `error` event inside an Anthropic stream (e.g. overloaded_error mid-answer). */
export class UpstreamStreamError extends Error {
  override readonly name = 'UpstreamStreamError';
  /** The error in OpenAI's shape, ready for an SSE error event. */
  readonly error: OpenAIErrorBody;
  readonly status: number;

  constructor(
    readonly upstreamType: string,
    message: string,
  ) {
    const translated = fromAnthropicError(0, { error: { type: upstreamType, message } });
    super(translated.error.message);
    Object.setPrototypeOf(this, new.target.prototype);
    this.error = translated.error;
    this.status = translated.status;
  }
}

export class AnthropicToOpenAIStream {
  private id: string | undefined;
  private readonly model: string;
  private readonly created: number;
  private readonly includeUsage: boolean;
  private started = false;
  private inputTokens = 0;
  private cacheReadTokens = 0;
  private cacheWriteTokens = 0;
  private outputTokens = 0;
  private nextToolIndex = 0;
  private readonly toolIndexByBlock = new Map<number, number>();
  private lastFinishReason: FinishReason | null = null;
  private stopped = false;

  constructor(opts: AnthropicStreamOptions) {
    this.id = opts.id;
    this.model = opts.model;
    this.created = opts.created ?? Math.floor(Date.now() / 1000);
    this.includeUsage = opts.includeUsage;
  }

  get usage(): TokenUsage {
    const usage: TokenUsage = { promptTokens: this.inputTokens + this.cacheReadTokens + this.cacheWriteTokens, completionTokens: this.outputTokens };
    if (this.cacheReadTokens > 0) usage.cacheReadTokens = this.cacheReadTokens;
    if (this.cacheWriteTokens > 0) usage.cacheWriteTokens = this.cacheWriteTokens;
    return usage;
  }

  get finishReason(): string | null {
    return this.lastFinishReason;
  }

  get sawMessageStop(): boolean {
    return this.stopped;
  }

  /** Zero or more complete `data: {...}\n\n` frames; '' for events with no OpenAI counterpart. */
  push(ev: SseEvent): string {
    if (ev.event === 'ping') return '';
    let data: unknown;
    try {
      data = JSON.parse(ev.data);
    } catch {
      throw new UpstreamStreamError('api_error', 'Anthropic sent a stream event that is not valid JSON');
    }
    if (!isRecord(data)) return '';
    const type = typeof data.type === 'string' ? data.type : ev.event;
    switch (type) {
      case 'message_start':
        return this.onMessageStart(data as unknown as Anthropic.RawMessageStartEvent);
      case 'content_block_start':
        return this.onBlockStart(data as unknown as Anthropic.RawContentBlockStartEvent);
      case 'content_block_delta':
        return this.onBlockDelta(data as unknown as Anthropic.RawContentBlockDeltaEvent);
      case 'message_delta':
        return this.onMessageDelta(data as unknown as Anthropic.RawMessageDeltaEvent);
      case 'message_stop':
        this.stopped = true;
        return '';
      case 'error': {
        const error = isRecord(data.error) ? data.error : {};
        const errorType = typeof error.type === 'string' ? error.type : 'api_error';
        const message = typeof error.message === 'string' ? error.message : 'Anthropic reported an error mid-stream';
        throw new UpstreamStreamError(errorType, message);
      }
      default:
        // content_block_stop, and event types added after this was written.
        return '';
    }
  }

  /** The usage chunk (when asked for), then `[DONE]`. */
  finish(): string {
    let out = '';
    if (this.includeUsage) {
      const usage = usageOf({
        input_tokens: this.inputTokens,
        cache_read_input_tokens: this.cacheReadTokens,
        cache_creation_input_tokens: this.cacheWriteTokens,
        output_tokens: this.outputTokens,
      });
      const body: OpenAI.ChatCompletionChunk = { ...this.envelope(), choices: [], usage };
      out += formatSse(body);
    }
    return `${out}data: [DONE]\n\n`;
  }

  private onMessageStart(ev: Anthropic.RawMessageStartEvent): string {
    const message = isRecord(ev.message) ? ev.message : undefined;
    if (!this.id) this.id = chatCompletionId(message?.id);
    this.addUsage(message?.usage);
    return this.start();
  }

  private onBlockStart(ev: Anthropic.RawContentBlockStartEvent): string {
    const block = ev.content_block;
    if (block?.type === 'text' && block.text) return this.start() + this.chunk({ content: block.text });
    if (block?.type !== 'tool_use') return '';
    const index = this.nextToolIndex++;
    this.toolIndexByBlock.set(ev.index, index);
    return (
      this.start() +
      this.chunk({ tool_calls: [{ index, id: block.id, type: 'function', function: { name: block.name, arguments: '' } }] })
    );
  }

  private onBlockDelta(ev: Anthropic.RawContentBlockDeltaEvent): string {
    const delta = ev.delta;
    if (delta?.type === 'text_delta' && delta.text) return this.start() + this.chunk({ content: delta.text });
    if (delta?.type === 'input_json_delta' && delta.partial_json) {
      const index = this.toolIndexByBlock.get(ev.index);
      if (index === undefined) return '';
      return this.start() + this.chunk({ tool_calls: [{ index, function: { arguments: delta.partial_json } }] });
    }
    // thinking, signature and citation deltas have no Chat Completions equivalent.
    return '';
  }

  private onMessageDelta(ev: Anthropic.RawMessageDeltaEvent): string {
    this.addUsage(ev.usage);
    const stopReason = ev.delta?.stop_reason;
    if (!stopReason) return '';
    this.lastFinishReason = finishReasonOf(stopReason);
    return this.start() + this.chunk({}, this.lastFinishReason);
  }

  /** Anthropic's counts are cumulative, so the latest non-null value of each wins. */
  private addUsage(usage: Partial<Anthropic.MessageDeltaUsage> | undefined): void {
    if (!usage) return;
    if (typeof usage.input_tokens === 'number') this.inputTokens = usage.input_tokens;
    if (typeof usage.cache_read_input_tokens === 'number') this.cacheReadTokens = usage.cache_read_input_tokens;
    if (typeof usage.cache_creation_input_tokens === 'number') this.cacheWriteTokens = usage.cache_creation_input_tokens;
    if (typeof usage.output_tokens === 'number') this.outputTokens = usage.output_tokens;
  }

  /** The first chunk carries the role, whatever event happens to arrive first. */
  private start(): string {
    if (this.started) return '';
    this.started = true;
    if (!this.id) this.id = chatCompletionId(undefined);
    return this.chunk({ role: 'assistant', content: '' });
  }

  private envelope(): Pick<OpenAI.ChatCompletionChunk, 'id' | 'object' | 'created' | 'model'> {
    return { id: this.id ?? chatCompletionId(undefined), object: 'chat.completion.chunk', created: this.created, model: this.model };
  }

  private chunk(delta: Delta, finishReason: FinishReason | null = null): string {
    const body: OpenAI.ChatCompletionChunk = {
      ...this.envelope(),
      choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }],
    };
    if (this.includeUsage) body.usage = null;
    return formatSse(body);
  }
}
