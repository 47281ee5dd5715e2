import type { z } from 'zod';
import { chatBodyAccepts, embeddingsBodyAccepts, messagesBodyAccepts } from '../../src/llm/body-checks';
import { chatCompletionBody, embeddingsBody, messagesBody } from '../../src/routes/v1';

const msgs = [{ role: 'user', content: 'hi' }];

/** The fast check may only say yes where the schema accepts the body and returns it unchanged. */
function agreesWithSchema(accepts: (b: unknown) => boolean, schema: z.ZodType, body: unknown): boolean {
  const fast = accepts(body);
  const parsed = schema.safeParse(body);
  if (fast) {
    expect(parsed.success).toBe(true);
    expect(parsed.data).toEqual(body);
  }
  return fast;
}

describe('/v1 body fast checks', () => {
  it('chat: accepts the common shapes, defers the rest to the schema', () => {
    const ok = [
      { model: 'gpt-4o-mini', messages: msgs },
      { model: 'gpt-4o-mini', messages: msgs, stream: true, stream_options: { include_usage: true }, max_tokens: 16, temperature: 0 },
      { model: 'openai/gpt-4o', messages: msgs, stream: null, stream_options: null, max_tokens: null, max_completion_tokens: 5 },
    ];
    const deferred = [
      null, [], 'x', { model: ' gpt-4o ', messages: msgs }, { model: '', messages: msgs }, { model: 'm'.repeat(257), messages: msgs },
      { model: 'm', messages: [] }, { model: 'm', messages: [{ role: '' }] }, { model: 'm', messages: [null] }, { model: 'm', messages: [[]] },
      { model: 'm', messages: msgs, stream: 'yes' }, { model: 'm', messages: msgs, stream_options: { include_usage: 1 } },
      { model: 'm', messages: msgs, stream_options: [] }, { model: 'm', messages: msgs, max_tokens: 0 }, { model: 'm', messages: msgs, max_tokens: 1.5 },
      { model: 'm', messages: msgs, max_completion_tokens: -1 }, { model: 7, messages: msgs },
    ];
    for (const b of ok) expect(agreesWithSchema(chatBodyAccepts, chatCompletionBody, b)).toBe(true);
    for (const b of deferred) expect(agreesWithSchema(chatBodyAccepts, chatCompletionBody, b)).toBe(false);
  });

  it('messages: max_tokens required, stream a plain boolean, empty messages allowed as the schema allows', () => {
    expect(agreesWithSchema(messagesBodyAccepts, messagesBody, { model: 'claude', messages: msgs, max_tokens: 10, stream: true })).toBe(true);
    expect(agreesWithSchema(messagesBodyAccepts, messagesBody, { model: 'claude', messages: [], max_tokens: 10 })).toBe(true);
    for (const b of [{ model: 'claude', messages: msgs }, { model: 'claude', messages: msgs, max_tokens: 10, stream: null }, { model: 'claude ', messages: msgs, max_tokens: 1 }]) {
      expect(agreesWithSchema(messagesBodyAccepts, messagesBody, b)).toBe(false);
    }
  });

  it('embeddings: strings, token ids and batches of either', () => {
    for (const input of ['a', ['a', 'b'], [1, 2], [[1], [2, 3]]]) {
      expect(agreesWithSchema(embeddingsBodyAccepts, embeddingsBody, { model: 'e', input })).toBe(true);
    }
    for (const input of [[], [[]], [1, 'a'], [1.5], 7, null, [['a']]]) {
      expect(agreesWithSchema(embeddingsBodyAccepts, embeddingsBody, { model: 'e', input })).toBe(false);
    }
  });
});
