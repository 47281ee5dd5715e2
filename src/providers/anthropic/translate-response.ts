/**
 * Anthropic Messages response / error → OpenAI Chat Completions response / error.
 */
import { randomUUID } from 'node:crypto';
import type Anthropic from '@anthropic-ai/sdk';
import type OpenAI from 'openai';
import { isRecord } from './translation-error';

export type FinishReason = OpenAI.ChatCompletion.Choice['finish_reason'];

export interface FromAnthropicOptions {
  /** The model name the client asked for, which may be an alias. */
  model: string;
  id?: string;
  /** Unix seconds. */
  created?: number;
}

export interface OpenAIErrorBody {
  message: string;
  type: string;
  code: string | null;
  param: string | null;
}

export interface TranslatedError {
  status: number;
  error: OpenAIErrorBody;
}

/** `null` stop reasons only occur mid-stream; a finished message without one ended normally. */
export function finishReasonOf(stopReason: Anthropic.StopReason | string | null | undefined): FinishReason {
  switch (stopReason) {
    case 'max_tokens':
    case 'model_context_window_exceeded':
      return 'length';
    case 'tool_use':
      return 'tool_calls';
    case 'refusal':
      return 'content_filter';
    default:
      // end_turn, stop_sequence, and pause_turn (a server-tool turn that paused; no client action differs).
      return 'stop';
  }
}

/** Derived from the Anthropic message id, so a completion can be traced to the upstream log. */
export function chatCompletionId(anthropicId: string | undefined): string {
  const suffix = (anthropicId ?? '').replace(/^msg_/, '');
  return `chatcmpl-${suffix || randomUUID().replace(/-/g, '')}`;
}

/** Anthropic counts cached input apart from `input_tokens`; OpenAI's prompt_tokens includes it. */
export function usageOf(usage: Partial<Anthropic.Usage> | undefined): OpenAI.CompletionUsage {
  const input = usage?.input_tokens ?? 0;
  const cacheRead = usage?.cache_read_input_tokens ?? 0;
  const cacheWrite = usage?.cache_creation_input_tokens ?? 0;
  const promptTokens = input + cacheRead + cacheWrite;
  const completionTokens = usage?.output_tokens ?? 0;
  const out: OpenAI.CompletionUsage = {
    prompt_tokens: promptTokens,
    completion_tokens: completionTokens,
    total_tokens: promptTokens + completionTokens,
    prompt_tokens_details: { cached_tokens: cacheRead },
  };
  if (cacheWrite > 0) out.prompt_tokens_details = { cached_tokens: cacheRead, cache_write_tokens: cacheWrite };
  const thinking = usage?.output_tokens_details?.thinking_tokens;
  if (typeof thinking === 'number' && thinking > 0) out.completion_tokens_details = { reasoning_tokens: thinking };
  return out;
}

export function fromAnthropicMessage(msg: Anthropic.Message, opts: FromAnthropicOptions): OpenAI.ChatCompletion {
  const texts: string[] = [];
  const toolCalls: OpenAI.ChatCompletionMessageFunctionToolCall[] = [];
  for (const block of msg.content) {
    if (block.type === 'text') texts.push(block.text);
    else if (block.type === 'tool_use') {
      toolCalls.push({ id: block.id, type: 'function', function: { name: block.name, arguments: JSON.stringify(block.input ?? {}) } });
    }
    // Thinking and server-tool blocks have no Chat Completions equivalent.
  }
  const message: OpenAI.ChatCompletionMessage = {
    role: 'assistant',
    content: texts.length > 0 ? texts.join('') : null,
    refusal: null,
  };
  if (toolCalls.length > 0) message.tool_calls = toolCalls;
  return {
    id: opts.id ?? chatCompletionId(msg.id),
    object: 'chat.completion',
    created: opts.created ?? Math.floor(Date.now() / 1000),
    model: opts.model,
    choices: [{ index: 0, message, logprobs: null, finish_reason: finishReasonOf(msg.stop_reason) }],
    usage: usageOf(msg.usage),
  };
}

const ERROR_TYPES: Record<string, { status: number; type: string; code: string | null }> = {
  invalid_request_error: { status: 400, type: 'invalid_request_error', code: null },
  authentication_error: { status: 401, type: 'authentication_error', code: 'invalid_api_key' },
  billing_error: { status: 402, type: 'insufficient_quota', code: 'insufficient_quota' },
  permission_error: { status: 403, type: 'permission_error', code: null },
  not_found_error: { status: 404, type: 'invalid_request_error', code: 'not_found' },
  request_too_large: { status: 413, type: 'invalid_request_error', code: 'request_too_large' },
  rate_limit_error: { status: 429, type: 'rate_limit_error', code: 'rate_limit_exceeded' },
  api_error: { status: 500, type: 'server_error', code: null },
  timeout_error: { status: 504, type: 'server_error', code: 'timeout' },
  // 529 is Anthropic's own status; 503 is the standard one that every client retries.
  overloaded_error: { status: 503, type: 'server_error', code: 'overloaded' },
};

function fallbackType(status: number): string {
  if (status === 401) return 'authentication_error';
  if (status === 403) return 'permission_error';
  if (status === 429) return 'rate_limit_error';
  if (status >= 500) return 'server_error';
  return 'invalid_request_error';
}

/** Provider messages can echo request details; a key-shaped string never goes further. */
export function redactSecrets(text: string): string {
  return text.replace(/\b(sk-ant-|sk-|kw_live_|kw_test_)[A-Za-z0-9_-]{8,}/g, '$1…');
}

export function fromAnthropicError(status: number, body: unknown): TranslatedError {
  let parsed = body;
  if (Buffer.isBuffer(parsed)) parsed = parsed.toString('utf8');
  if (typeof parsed === 'string') {
    try {
      parsed = JSON.parse(parsed);
    } catch {
      parsed = undefined;
    }
  }
  const inner = isRecord(parsed) && isRecord(parsed.error) ? parsed.error : undefined;
  const anthropicType = typeof inner?.type === 'string' ? inner.type : undefined;
  const known = anthropicType ? ERROR_TYPES[anthropicType] : undefined;
  const upstreamStatus = status === 529 ? 503 : status;
  const outStatus = upstreamStatus >= 400 && upstreamStatus <= 599 ? upstreamStatus : (known?.status ?? 502);
  const message =
    typeof inner?.message === 'string' && inner.message !== ''
      ? redactSecrets(inner.message)
      : `Anthropic returned HTTP ${status}${anthropicType ? ` (${anthropicType})` : ''}`;
  return {
    status: outStatus,
    error: { message, type: known?.type ?? fallbackType(outStatus), code: known?.code ?? null, param: null },
  };
}
