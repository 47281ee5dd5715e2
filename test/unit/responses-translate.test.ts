import { responsesToChat } from '../../src/providers/responses/to-chat';
import { AnthropicResponsesStream } from '../../src/providers/anthropic/responses-stream';
import { TranslationError } from '../../src/providers/anthropic/translation-error';
import type { LlmRequest } from '../../src/providers/types';

describe('Responses → Chat Completions request', () => {
  it('turns instructions, developer messages, images, function calls and outputs into chat messages', () => {
    const chat = responsesToChat({
      model: 'claude-fast',
      instructions: 'Be brief.',
      max_output_tokens: 50,
      temperature: 0.5,
      input: [
        { role: 'developer', content: 'Answer in French.' },
        { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'What is this?' }, { type: 'input_image', image_url: 'data:image/png;base64,AAAA', detail: 'low' }] },
        { type: 'message', role: 'assistant', content: [{ type: 'output_text', text: 'Let me check.' }] },
        { type: 'function_call', call_id: 'call_1', name: 'lookup', arguments: '{"q":"x"}' },
        { type: 'function_call', call_id: 'call_2', name: 'lookup', arguments: '{"q":"y"}' },
        { type: 'function_call_output', call_id: 'call_1', output: 'one' },
        { type: 'function_call_output', call_id: 'call_2', output: 'two' },
        { type: 'reasoning', summary: [] },
      ],
      tools: [{ type: 'function', name: 'lookup', parameters: { type: 'object', properties: {} } }],
      tool_choice: { type: 'function', name: 'lookup' },
      text: { format: { type: 'json_schema', name: 'answer', schema: { type: 'object' } } },
    });
    expect(chat).toEqual({
      model: 'claude-fast',
      max_tokens: 50,
      temperature: 0.5,
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'system', content: 'Answer in French.' },
        { role: 'user', content: [{ type: 'text', text: 'What is this?' }, { type: 'image_url', image_url: { url: 'data:image/png;base64,AAAA', detail: 'low' } }] },
        {
          role: 'assistant',
          content: 'Let me check.',
          tool_calls: [
            { id: 'call_1', type: 'function', function: { name: 'lookup', arguments: '{"q":"x"}' } },
            { id: 'call_2', type: 'function', function: { name: 'lookup', arguments: '{"q":"y"}' } },
          ],
        },
        { role: 'tool', tool_call_id: 'call_1', content: 'one' },
        { role: 'tool', tool_call_id: 'call_2', content: 'two' },
      ],
      tools: [{ type: 'function', function: { name: 'lookup', parameters: { type: 'object', properties: {} } } }],
      tool_choice: { type: 'function', function: { name: 'lookup' } },
      response_format: { type: 'json_schema', json_schema: { name: 'answer', description: undefined, schema: { type: 'object' }, strict: undefined } },
    });
  });

  it.each([
    [{ input: 'x', tools: [{ type: 'file_search' }] }, 'tools[0]'],
    [{ input: [{ type: 'item_reference', id: 'x' }] }, 'input[0]'],
    [{ input: [{ role: 'user', content: [{ type: 'input_file', file_id: 'f' }] }] }, 'input[0].content[0]'],
    [{ input: [{ role: 'tool', content: 'x' }] }, 'input[0].role'],
    [{ input: 'x', background: true }, 'background'],
  ])('refuses what chat cannot carry (%j) naming %s', (body, param) => {
    expect(() => responsesToChat({ model: 'm', ...body })).toThrow(TranslationError);
    try {
      responsesToChat({ model: 'm', ...body });
    } catch (err) {
      expect((err as TranslationError).param).toBe(param);
    }
  });
});

describe('Anthropic stream → Responses events', () => {
  const request: LlmRequest = {
    surface: 'responses',
    body: { model: 'claude-fast', input: 'hi' },
    model: 'claude-haiku-4-5',
    stream: true,
    clientWantsStreamUsage: false,
    clientHeaders: {},
    anthropicVersion: '2023-06-01',
    responseId: 'resp_fixed',
  };
  const sse = (type: string, data: Record<string, unknown>) => `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;
  const events = (text: string) =>
    text
      .split('\n\n')
      .filter(Boolean)
      .map((frame) => JSON.parse(frame.split('\n')[1].slice(6)));

  it('reads events split anywhere, numbers them, and ends with the full response only after message_stop', () => {
    const upstream =
      sse('message_start', { message: { id: 'msg_1', model: 'claude-haiku-4-5', usage: { input_tokens: 7, output_tokens: 1, cache_read_input_tokens: 3 } } }) +
      sse('content_block_start', { index: 0, content_block: { type: 'text', text: '' } }) +
      sse('content_block_delta', { index: 0, delta: { type: 'text_delta', text: 'Hel' } }) +
      sse('content_block_delta', { index: 0, delta: { type: 'text_delta', text: 'lo' } }) +
      sse('content_block_stop', { index: 0 }) +
      sse('content_block_start', { index: 1, content_block: { type: 'tool_use', id: 'toolu_1', name: 'f', input: {} } }) +
      sse('content_block_delta', { index: 1, delta: { type: 'input_json_delta', partial_json: '{"a":' } }) +
      sse('content_block_delta', { index: 1, delta: { type: 'input_json_delta', partial_json: '1}' } }) +
      sse('content_block_stop', { index: 1 }) +
      sse('message_delta', { delta: { stop_reason: 'max_tokens' }, usage: { output_tokens: 9 } }) +
      sse('message_stop', {});
    const stream = new AnthropicResponsesStream(request);
    const bytes = Buffer.from(upstream);
    let out = '';
    for (let i = 0; i < bytes.length; i += 7) out += stream.push(bytes.subarray(i, i + 7));
    expect(out).not.toContain('response.incomplete');
    out += stream.finish();
    const evs = events(out);
    expect(evs.map((e) => e.sequence_number)).toEqual(evs.map((_, i) => i));
    expect(evs.map((e) => e.type)).toEqual([
      'response.created',
      'response.in_progress',
      'response.output_item.added',
      'response.content_part.added',
      'response.output_text.delta',
      'response.output_text.delta',
      'response.output_text.done',
      'response.content_part.done',
      'response.output_item.done',
      'response.output_item.added',
      'response.function_call_arguments.delta',
      'response.function_call_arguments.delta',
      'response.function_call_arguments.done',
      'response.output_item.done',
      'response.incomplete',
    ]);
    const final = evs.at(-1).response;
    expect(final).toMatchObject({ id: 'resp_fixed', status: 'incomplete', incomplete_details: { reason: 'max_output_tokens' }, model: 'claude-haiku-4-5' });
    expect(final.output[0]).toMatchObject({ type: 'message', content: [{ type: 'output_text', text: 'Hello' }] });
    expect(final.output[1]).toMatchObject({ type: 'function_call', call_id: 'toolu_1', name: 'f', arguments: '{"a":1}' });
    expect(final.usage).toEqual({ input_tokens: 10, input_tokens_details: { cached_tokens: 3 }, output_tokens: 9, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: 19 });
    expect(stream.usage).toEqual({ promptTokens: 10, completionTokens: 9, cacheReadTokens: 3 });
    expect(stream.responseObject).toEqual(final);
  });

  it('reports a cut stream (no message_stop) as not finished, and an error event as a failure', () => {
    const cut = new AnthropicResponsesStream(request);
    cut.push(Buffer.from(sse('message_start', { message: { usage: { input_tokens: 1 } } })));
    expect(cut.finish()).toBeNull();
    const failed = new AnthropicResponsesStream(request);
    failed.push(Buffer.from(sse('error', { error: { type: 'overloaded_error', message: 'Overloaded' } })));
    expect(failed.failure).toMatchObject({ code: 'overloaded_error', type: 'server_error', forwarded: false });
  });
});
