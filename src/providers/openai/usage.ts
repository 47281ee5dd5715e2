/**
 * OpenAI's usage objects, in every shape its APIs report them, as TokenUsage: Chat Completions
 * (`prompt_tokens`, `prompt_tokens_details.cached_tokens|audio_tokens`, `completion_tokens_details.reasoning_tokens|
 * audio_tokens`), Responses and gpt-4o transcriptions (`input_tokens`, `input_tokens_details`/`input_token_details`,
 * `output_tokens_details`), and whisper's `{type: "duration", seconds}`.
 */
import { isRecord } from '../anthropic/translation-error';
import type { TokenUsage } from '../types';

function count(obj: unknown, key: string): number | undefined {
  if (!isRecord(obj)) return undefined;
  const v = obj[key];
  return typeof v === 'number' && Number.isFinite(v) && v > 0 ? v : undefined;
}

/** Drops the parts a provider did not report, so a usage object stays small and comparable. */
function compact(u: TokenUsage): TokenUsage {
  for (const key of Object.keys(u) as (keyof TokenUsage)[]) if (u[key] === undefined) delete u[key];
  return u;
}

export function openaiUsage(usage: unknown): TokenUsage | null {
  if (!isRecord(usage)) return null;
  if (usage.type === 'duration') {
    const seconds = typeof usage.seconds === 'number' && usage.seconds >= 0 ? usage.seconds : 0;
    return { promptTokens: 0, completionTokens: 0, seconds };
  }
  if (typeof usage.prompt_tokens === 'number') {
    const input = usage.prompt_tokens_details;
    const output = usage.completion_tokens_details;
    return compact({
      promptTokens: usage.prompt_tokens,
      completionTokens: typeof usage.completion_tokens === 'number' ? usage.completion_tokens : 0,
      cacheReadTokens: count(input, 'cached_tokens'),
      audioInputTokens: count(input, 'audio_tokens'),
      reasoningTokens: count(output, 'reasoning_tokens'),
      audioOutputTokens: count(output, 'audio_tokens'),
    });
  }
  if (typeof usage.input_tokens === 'number') {
    const input = usage.input_tokens_details ?? usage.input_token_details;
    return compact({
      promptTokens: usage.input_tokens,
      completionTokens: typeof usage.output_tokens === 'number' ? usage.output_tokens : 0,
      cacheReadTokens: count(input, 'cached_tokens'),
      audioInputTokens: count(input, 'audio_tokens'),
      reasoningTokens: count(usage.output_tokens_details, 'reasoning_tokens'),
    });
  }
  return null;
}
