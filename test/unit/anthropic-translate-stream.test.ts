import { AnthropicToOpenAIStream, UpstreamStreamError } from '../../src/providers/anthropic';
import type { SseEvent } from '../../src/providers/sse';

const ev = (data: object): SseEvent => ({ event: (data as { type: string }).type, data: JSON.stringify(data) });
const messageStart = (usage: object) =>
  ev({ type: 'message_start', message: { id: 'msg_01zz', type: 'message', role: 'assistant', content: [], usage } });

/** Parses the `data:` frames a push() returned. */
function frames(out: string): unknown[] {
  return out
    .split('\n\n')
    .filter((f) => f !== '')
    .map((f) => {
      expect(f.startsWith('data: ')).toBe(true);
      const payload = f.slice('data: '.length);
      return payload === '[DONE]' ? payload : JSON.parse(payload);
    });
}

describe('AnthropicToOpenAIStream', () => {
  it('derives the id from message_start and ignores pings and unknown events', () => {
    const s = new AnthropicToOpenAIStream({ model: 'm', includeUsage: false });
    const [first] = frames(s.push(messageStart({ input_tokens: 1, output_tokens: 1 }))) as { id: string }[];
    expect(first.id).toBe('chatcmpl-01zz');
    expect(s.push({ event: 'ping', data: '{"type": "ping"}' })).toBe('');
    expect(s.push(ev({ type: 'content_block_stop', index: 0 }))).toBe('');
    expect(s.push(ev({ type: 'brand_new_event', x: 1 }))).toBe('');
    expect(s.push(ev({ type: 'content_block_delta', index: 0, delta: { type: 'thinking_delta', thinking: 'hm' } }))).toBe('');
  });

  it('sends the role chunk first even if content arrives without message_start', () => {
    const s = new AnthropicToOpenAIStream({ model: 'm', id: 'chatcmpl-x', created: 1, includeUsage: false });
    const out = frames(s.push(ev({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'hi' } }))) as {
      choices: { delta: object }[];
    }[];
    expect(out.map((f) => f.choices[0].delta)).toEqual([{ role: 'assistant', content: '' }, { content: 'hi' }]);
  });

  it('takes input from message_start, cumulative output and late input counts from message_delta', () => {
    const s = new AnthropicToOpenAIStream({ model: 'm', includeUsage: true });
    s.push(messageStart({ input_tokens: 10, cache_creation_input_tokens: 5, cache_read_input_tokens: 20, output_tokens: 1 }));
    expect(s.usage).toEqual({ promptTokens: 35, completionTokens: 1, cacheReadTokens: 20, cacheWriteTokens: 5 });
    const final = frames(
      s.push(ev({ type: 'message_delta', delta: { stop_reason: 'max_tokens', stop_sequence: null }, usage: { input_tokens: 12, output_tokens: 40 } })),
    ) as { choices: { finish_reason: string }[]; usage: null }[];
    expect(final[0].choices[0].finish_reason).toBe('length');
    expect(final[0].usage).toBeNull();
    expect(s.usage).toEqual({ promptTokens: 37, completionTokens: 40, cacheReadTokens: 20, cacheWriteTokens: 5 });
    expect(s.finishReason).toBe('length');
    expect(s.sawMessageStop).toBe(false);
    s.push(ev({ type: 'message_stop' }));
    expect(s.sawMessageStop).toBe(true);
    const [usageChunk, done] = frames(s.finish()) as [{ choices: unknown[]; usage: object }, string];
    expect(usageChunk.choices).toEqual([]);
    expect(usageChunk.usage).toEqual({
      prompt_tokens: 37,
      completion_tokens: 40,
      total_tokens: 77,
      prompt_tokens_details: { cached_tokens: 20, cache_write_tokens: 5 },
    });
    expect(done).toBe('[DONE]');
  });

  it('finishes with only [DONE] when usage was not asked for', () => {
    const s = new AnthropicToOpenAIStream({ model: 'm', includeUsage: false });
    s.push(messageStart({ input_tokens: 1, output_tokens: 1 }));
    expect(s.finish()).toBe('data: [DONE]\n\n');
  });

  it('throws UpstreamStreamError for an error event, in OpenAI shape', () => {
    const s = new AnthropicToOpenAIStream({ model: 'm', includeUsage: false });
    s.push(messageStart({ input_tokens: 1, output_tokens: 1 }));
    let caught: unknown;
    try {
      s.push({ event: 'error', data: '{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}' });
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(UpstreamStreamError);
    const err = caught as UpstreamStreamError;
    expect(err.upstreamType).toBe('overloaded_error');
    expect(err.status).toBe(503);
    expect(err.error).toEqual({ message: 'Overloaded', type: 'server_error', code: 'overloaded', param: null });
  });

  it('throws UpstreamStreamError for an event that is not JSON', () => {
    const s = new AnthropicToOpenAIStream({ model: 'm', includeUsage: false });
    expect(() => s.push({ event: 'message_start', data: '{"type":"message_st' })).toThrow(UpstreamStreamError);
  });
});
