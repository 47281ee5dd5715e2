/** Deterministic text helpers shared by the LLM mocks, so tests can predict replies and usage. */

/** The mocks' token count: characters / 4, rounded up, at least 1. */
export function countTokens(text: string): number {
  return Math.max(1, Math.ceil(text.length / 4));
}

/**
 * Plain text of a message content in either dialect: a string, or an array of parts whose
 * `text` (text parts) or nested `content` (Anthropic tool_result blocks) carries text.
 */
export function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content
    .map((part) => {
      if (typeof part === 'string') return part;
      if (part && typeof part === 'object') {
        const p = part as { text?: unknown; content?: unknown };
        if (typeof p.text === 'string') return p.text;
        return textOf(p.content);
      }
      return '';
    })
    .join('');
}

/** Split text into about `count` pieces of equal length; never returns an empty list. */
export function splitPieces(text: string, count: number): string[] {
  if (text.length === 0) return [''];
  const size = Math.max(1, Math.ceil(text.length / count));
  const pieces: string[] = [];
  for (let i = 0; i < text.length; i += size) pieces.push(text.slice(i, i + size));
  return pieces;
}

/** Cut a reply by an output-token budget and stop sequences, the way a model stops early. */
export function truncateReply(
  reply: string,
  maxTokens: number | undefined,
  stops: string[],
): { text: string; stoppedBy: 'length' | 'stop_sequence' | null; stopSequence: string | null } {
  let text = reply;
  let stoppedBy: 'length' | 'stop_sequence' | null = null;
  let stopSequence: string | null = null;
  for (const stop of stops) {
    const at = stop ? text.indexOf(stop) : -1;
    if (at >= 0) {
      text = text.slice(0, at);
      stoppedBy = 'stop_sequence';
      stopSequence = stop;
    }
  }
  if (typeof maxTokens === 'number' && maxTokens > 0 && countTokens(text) > maxTokens) {
    text = text.slice(0, maxTokens * 4);
    stoppedBy = 'length';
    stopSequence = null;
  }
  return { text, stoppedBy, stopSequence };
}

/** One OpenAI-style SSE frame (data only). */
export function sseData(payload: unknown): string {
  return `data: ${typeof payload === 'string' ? payload : JSON.stringify(payload)}\n\n`;
}

/** One Anthropic-style SSE frame (named event whose data carries the same `type`). */
export function sseEvent(payload: { type: string; [field: string]: unknown }): string {
  return `event: ${payload.type}\ndata: ${JSON.stringify(payload)}\n\n`;
}
