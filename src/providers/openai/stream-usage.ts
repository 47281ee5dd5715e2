/**
 * Watches an OpenAI chat-completions SSE byte stream on its way to the client, to bill it:
 * the final usage chunk (`stream_options.include_usage`), whether `[DONE]` arrived, and the text
 * so far for an estimate when the client or upstream breaks off. It only observes; the caller
 * forwards the original bytes untouched.
 */
import { SseParser } from '../sse';
import type { TokenUsage } from '../types';
import { openaiUsage } from './usage';

export type StreamUsage = TokenUsage;

// Every chunk of a stream with include_usage carries `"usage":null`; only an object is worth parsing.
const USAGE_OBJECT = /"usage"\s*:\s*\{/;
const CONTENT_OR_ARGUMENTS = /"(content|arguments|refusal)"\s*:\s*"/;

export class OpenAIStreamUsageReader {
  private readonly parser = new SseParser();
  private usage_: StreamUsage | null = null;
  private done = false;
  private readonly pieces: string[] = [];

  get usage(): StreamUsage | null {
    return this.usage_;
  }

  get sawDone(): boolean {
    return this.done;
  }

  /** Content, refusal and tool-call argument text seen so far: all of it is billed as output. */
  get completionText(): string {
    return this.pieces.join('');
  }

  push(chunk: Buffer): void {
    for (const event of this.parser.push(chunk)) this.observe(event.data);
  }

  /** Call when the upstream ends, to read an event that was not closed by a blank line. */
  end(): void {
    for (const event of this.parser.flush()) this.observe(event.data);
  }

  private observe(data: string): void {
    if (data === '[DONE]') {
      this.done = true;
      return;
    }
    const hasUsage = USAGE_OBJECT.test(data);
    if (!hasUsage && !CONTENT_OR_ARGUMENTS.test(data)) return;
    let chunk: unknown;
    try {
      chunk = JSON.parse(data);
    } catch {
      return; // Not ours to judge: the client receives the same bytes and decides.
    }
    if (typeof chunk !== 'object' || chunk === null) return;
    const { choices, usage } = chunk as { choices?: unknown; usage?: unknown };
    if (hasUsage) this.readUsage(usage);
    if (Array.isArray(choices)) for (const choice of choices) this.readDelta(choice);
  }

  private readUsage(usage: unknown): void {
    const read = openaiUsage(usage);
    if (read) this.usage_ = read;
  }

  private readDelta(choice: unknown): void {
    const delta = (choice as { delta?: Record<string, unknown> } | null)?.delta;
    if (typeof delta !== 'object' || delta === null) return;
    if (typeof delta.content === 'string') this.pieces.push(delta.content);
    if (typeof delta.refusal === 'string') this.pieces.push(delta.refusal);
    if (Array.isArray(delta.tool_calls)) {
      for (const call of delta.tool_calls as { function?: { name?: unknown; arguments?: unknown } }[]) {
        if (typeof call?.function?.name === 'string') this.pieces.push(call.function.name);
        if (typeof call?.function?.arguments === 'string') this.pieces.push(call.function.arguments);
      }
    }
  }
}
