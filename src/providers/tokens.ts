/**
 * Token ESTIMATES for reserving credits before a call and for billing a stream that ended
 * without the provider's usage. Not a tokenizer: about 4 characters per token, which is close
 * for English text and code on both OpenAI and Anthropic models. Real usage, when the provider
 * reports it, always replaces these numbers.
 */

const CHARS_PER_TOKEN = 4;
/** A fixed cost per image: about what a ~1000×750 image costs on Claude, between OpenAI's low and high detail. */
export const IMAGE_TOKEN_ESTIMATE = 1000;
/** Role markers and separators each message adds around its content. */
const PER_MESSAGE_OVERHEAD = 4;

export function estimateTokens(text: string): number {
  return text.length === 0 ? 0 : Math.ceil(text.length / CHARS_PER_TOKEN);
}

/** Accepts OpenAI chat messages or Anthropic messages; anything unrecognised counts nothing. */
export function estimatePromptTokens(messages: unknown): number {
  if (!Array.isArray(messages)) return 0;
  let total = 0;
  for (const message of messages) {
    if (typeof message !== 'object' || message === null) continue;
    const m = message as Record<string, unknown>;
    total += PER_MESSAGE_OVERHEAD + contentTokens(m.content);
    if (Array.isArray(m.tool_calls)) {
      for (const call of m.tool_calls as { function?: { name?: unknown; arguments?: unknown } }[]) {
        total += stringTokens(call?.function?.name) + stringTokens(call?.function?.arguments);
      }
    }
  }
  return total;
}

function stringTokens(value: unknown): number {
  return typeof value === 'string' ? estimateTokens(value) : 0;
}

function contentTokens(content: unknown): number {
  if (typeof content === 'string') return estimateTokens(content);
  if (!Array.isArray(content)) return 0;
  let total = 0;
  for (const part of content) {
    if (typeof part !== 'object' || part === null) continue;
    total += partTokens(part as Record<string, unknown>);
  }
  return total;
}

function partTokens(part: Record<string, unknown>): number {
  switch (part.type) {
    case 'text':
    case 'input_text':
      return stringTokens(part.text);
    case 'image':
    case 'image_url':
    case 'input_image':
      return IMAGE_TOKEN_ESTIMATE;
    case 'tool_use':
      return stringTokens(part.name) + estimateTokens(JSON.stringify(part.input ?? {}));
    case 'tool_result':
      return contentTokens(part.content);
    case 'refusal':
      return stringTokens(part.refusal);
    default:
      return 0;
  }
}
