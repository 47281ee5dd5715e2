/** An Anthropic Message → the OpenAI Response object a Responses client expects. */
import type Anthropic from '@anthropic-ai/sdk';
import {
  functionCallItem,
  messageItem,
  responseEnvelope,
  responseItemId,
  responsesUsage,
  statusOfStop,
} from '../responses/objects';

type Json = Record<string, unknown>;

export interface ResponsesAnswerOptions {
  /** the Responses request as the client sent it (echoed) */
  request: Json;
  id: string;
  createdAt: number;
}

export function usageCountsOf(usage: Partial<Anthropic.Usage> | undefined) {
  return {
    input: usage?.input_tokens ?? 0,
    cacheRead: usage?.cache_read_input_tokens ?? 0,
    cacheWrite: usage?.cache_creation_input_tokens ?? 0,
    output: usage?.output_tokens ?? 0,
  };
}

/** Each text block is a message item and each tool_use block a function_call item, as the stream reports them. */
export function responseFromAnthropic(message: Anthropic.Message, opts: ResponsesAnswerOptions): Json {
  const output: Json[] = [];
  for (const block of message.content ?? []) {
    if (block.type === 'text') output.push(messageItem(responseItemId('msg'), block.text, 'completed'));
    else if (block.type === 'tool_use') output.push(functionCallItem(responseItemId('fc'), block.id, block.name, JSON.stringify(block.input ?? {}), 'completed'));
    // thinking blocks stay on Anthropic's side: a Responses client cannot send their signatures back
  }
  return responseEnvelope(opts.request, {
    id: opts.id,
    createdAt: opts.createdAt,
    model: message.model,
    output,
    usage: responsesUsage(usageCountsOf(message.usage)),
    ...statusOfStop(message.stop_reason),
  });
}
