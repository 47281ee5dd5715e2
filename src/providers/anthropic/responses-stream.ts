/**
 * Anthropic Messages SSE → the OpenAI Responses event sequence: response.created, response.in_progress, then
 * per content block output_item.added → content_part.added → output_text.delta… → output_text.done →
 * content_part.done → output_item.done (function_call_arguments.delta/done for tool_use blocks), and
 * response.completed (or response.incomplete) carrying the whole Response with its usage. Every event has a
 * sequence_number. Nothing terminal is sent unless Anthropic's message_stop arrived.
 */
import type Anthropic from '@anthropic-ai/sdk';
import { SseParser, type SseEvent } from '../sse';
import type { LlmRequest, StreamFailure, StreamTranslator, TokenUsage } from '../types';
import {
  functionCallItem,
  messageItem,
  outputTextPart,
  responseEnvelope,
  responseItemId,
  responsesUsage,
  statusOfStop,
} from '../responses/objects';
import { usageCountsOf } from './responses-answer';
import { redactSecrets } from './translate-response';
import { isRecord } from './translation-error';

type Json = Record<string, unknown>;

interface OpenBlock {
  kind: 'text' | 'tool';
  outputIndex: number;
  itemId: string;
  text: string;
  callId: string;
  name: string;
}

export class AnthropicResponsesStream implements StreamTranslator {
  private readonly parser = new SseParser();
  private readonly request: Json;
  private readonly id: string;
  private readonly createdAt: number;
  private model: string;
  private sequence = 0;
  private started = false;
  private stopped = false;
  private stopReason: string | null = null;
  private counts = usageCountsOf(undefined);
  private readonly output: Json[] = [];
  private readonly blocks = new Map<number, OpenBlock>();
  private readonly pieces: string[] = [];
  private final: Json | null = null;
  failure: StreamFailure | null = null;

  constructor(req: LlmRequest) {
    this.request = req.body;
    this.id = req.responseId ?? responseItemId('resp');
    this.createdAt = Math.floor(Date.now() / 1000);
    this.model = req.model;
  }

  get usage(): TokenUsage | null {
    if (!this.started) return null;
    const usage: TokenUsage = { promptTokens: this.counts.input + this.counts.cacheRead + this.counts.cacheWrite, completionTokens: this.counts.output };
    if (this.counts.cacheRead > 0) usage.cacheReadTokens = this.counts.cacheRead;
    if (this.counts.cacheWrite > 0) usage.cacheWriteTokens = this.counts.cacheWrite;
    return usage;
  }

  get completionText(): string {
    return this.pieces.join('');
  }

  /** The finished Response (after response.completed), for a stored conversation. */
  get responseObject(): Json | null {
    return this.final;
  }

  push(chunk: Buffer): string {
    return this.translate(this.parser.push(chunk));
  }

  finish(): string | null {
    const tail = this.translate(this.parser.flush());
    if (this.failure) return tail;
    if (!this.stopped) return null;
    const status = statusOfStop(this.stopReason);
    this.final = this.envelope(status.status, status.incompleteReason, responsesUsage(this.counts));
    const type = status.status === 'incomplete' ? 'response.incomplete' : 'response.completed';
    return tail + this.event({ type, response: this.final });
  }

  private translate(events: SseEvent[]): string {
    let out = '';
    for (const event of events) {
      if (this.failure) break;
      out += this.onEvent(event);
    }
    return out;
  }

  private onEvent(ev: SseEvent): string {
    if (ev.event === 'ping') return '';
    let data: unknown;
    try {
      data = JSON.parse(ev.data);
    } catch {
      this.failure = { code: 'bad_upstream_stream', type: 'server_error', message: 'Anthropic sent a stream event that is not valid JSON', forwarded: false };
      return '';
    }
    if (!isRecord(data)) return '';
    switch (data.type) {
      case 'message_start': {
        const message = isRecord(data.message) ? (data.message as unknown as Anthropic.Message) : null;
        if (message?.model) this.model = message.model;
        this.addUsage(message?.usage);
        return this.start();
      }
      case 'content_block_start':
        return this.start() + this.openBlock(data as unknown as Anthropic.RawContentBlockStartEvent);
      case 'content_block_delta':
        return this.delta(data as unknown as Anthropic.RawContentBlockDeltaEvent);
      case 'content_block_stop':
        return this.closeBlock(Number(data.index));
      case 'message_delta': {
        const ev2 = data as unknown as Anthropic.RawMessageDeltaEvent;
        this.addUsage(ev2.usage);
        if (ev2.delta?.stop_reason) this.stopReason = ev2.delta.stop_reason;
        return '';
      }
      case 'message_stop':
        this.stopped = true;
        return '';
      case 'error': {
        const error = isRecord(data.error) ? data.error : {};
        const type = typeof error.type === 'string' ? error.type : 'api_error';
        const message = typeof error.message === 'string' ? redactSecrets(error.message) : 'Anthropic reported an error mid-stream';
        this.failure = { code: type, type: /overload/.test(type) ? 'server_error' : type, message, forwarded: false };
        return '';
      }
      default:
        return '';
    }
  }

  private start(): string {
    if (this.started) return '';
    this.started = true;
    const response = this.envelope('in_progress', undefined, null);
    return this.event({ type: 'response.created', response }) + this.event({ type: 'response.in_progress', response });
  }

  private openBlock(ev: Anthropic.RawContentBlockStartEvent): string {
    const block = ev.content_block;
    const outputIndex = this.output.length;
    if (block?.type === 'text') {
      const open: OpenBlock = { kind: 'text', outputIndex, itemId: responseItemId('msg'), text: '', callId: '', name: '' };
      this.blocks.set(ev.index, open);
      this.output.push(messageItem(open.itemId, '', 'in_progress'));
      let out = this.event({ type: 'response.output_item.added', output_index: outputIndex, item: messageItem(open.itemId, '', 'in_progress') });
      out += this.event({ type: 'response.content_part.added', item_id: open.itemId, output_index: outputIndex, content_index: 0, part: outputTextPart('') });
      return block.text ? out + this.textDelta(open, block.text) : out;
    }
    if (block?.type === 'tool_use') {
      const open: OpenBlock = { kind: 'tool', outputIndex, itemId: responseItemId('fc'), text: '', callId: block.id, name: block.name };
      this.blocks.set(ev.index, open);
      const item = functionCallItem(open.itemId, open.callId, open.name, '', 'in_progress');
      this.output.push(item);
      return this.event({ type: 'response.output_item.added', output_index: outputIndex, item });
    }
    return ''; // thinking and server-tool blocks have no Responses counterpart here
  }

  private delta(ev: Anthropic.RawContentBlockDeltaEvent): string {
    const open = this.blocks.get(ev.index);
    const delta = ev.delta;
    if (!open) return '';
    if (open.kind === 'text' && delta?.type === 'text_delta' && delta.text) return this.textDelta(open, delta.text);
    if (open.kind === 'tool' && delta?.type === 'input_json_delta' && delta.partial_json) {
      open.text += delta.partial_json;
      this.pieces.push(delta.partial_json);
      return this.event({ type: 'response.function_call_arguments.delta', item_id: open.itemId, output_index: open.outputIndex, delta: delta.partial_json });
    }
    return '';
  }

  private textDelta(open: OpenBlock, text: string): string {
    open.text += text;
    this.pieces.push(text);
    return this.event({ type: 'response.output_text.delta', item_id: open.itemId, output_index: open.outputIndex, content_index: 0, delta: text, logprobs: [] });
  }

  private closeBlock(index: number): string {
    const open = this.blocks.get(index);
    if (!open) return '';
    this.blocks.delete(index);
    const at = { item_id: open.itemId, output_index: open.outputIndex };
    if (open.kind === 'text') {
      const item = messageItem(open.itemId, open.text, 'completed');
      this.output[open.outputIndex] = item;
      return (
        this.event({ type: 'response.output_text.done', ...at, content_index: 0, text: open.text, logprobs: [] }) +
        this.event({ type: 'response.content_part.done', ...at, content_index: 0, part: outputTextPart(open.text) }) +
        this.event({ type: 'response.output_item.done', output_index: open.outputIndex, item })
      );
    }
    const args = open.text === '' ? '{}' : open.text;
    const item = functionCallItem(open.itemId, open.callId, open.name, args, 'completed');
    this.output[open.outputIndex] = item;
    return (
      this.event({ type: 'response.function_call_arguments.done', ...at, arguments: args }) +
      this.event({ type: 'response.output_item.done', output_index: open.outputIndex, item })
    );
  }

  /** Anthropic's counts are cumulative: the latest value of each wins. */
  private addUsage(usage: Partial<Anthropic.MessageDeltaUsage> | undefined | null): void {
    if (!usage) return;
    const next = usageCountsOf(usage as Partial<Anthropic.Usage>);
    this.counts = {
      input: typeof usage.input_tokens === 'number' ? next.input : this.counts.input,
      cacheRead: typeof usage.cache_read_input_tokens === 'number' ? next.cacheRead : this.counts.cacheRead,
      cacheWrite: typeof usage.cache_creation_input_tokens === 'number' ? next.cacheWrite : this.counts.cacheWrite,
      output: typeof usage.output_tokens === 'number' ? next.output : this.counts.output,
    };
  }

  private envelope(status: 'in_progress' | 'completed' | 'incomplete', incompleteReason: 'max_output_tokens' | 'content_filter' | undefined, usage: Json | null): Json {
    const output = status === 'in_progress' ? [] : [...this.output];
    return responseEnvelope(this.request, { id: this.id, createdAt: this.createdAt, model: this.model, status, incompleteReason, output, usage });
  }

  private event(payload: Json): string {
    const data = { ...payload, sequence_number: this.sequence++ };
    return `event: ${String(payload.type)}\ndata: ${JSON.stringify(data)}\n\n`;
  }
}
