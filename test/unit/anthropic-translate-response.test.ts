import type Anthropic from '@anthropic-ai/sdk';
import { finishReasonOf, fromAnthropicError, fromAnthropicMessage } from '../../src/providers/anthropic';

describe('finishReasonOf', () => {
  const all: Record<Anthropic.StopReason, string> = {
    end_turn: 'stop',
    stop_sequence: 'stop',
    max_tokens: 'length',
    tool_use: 'tool_calls',
    refusal: 'content_filter',
    pause_turn: 'stop',
    model_context_window_exceeded: 'length',
  };
  it.each(Object.entries(all))('%s → %s', (stopReason, expected) => {
    expect(finishReasonOf(stopReason)).toBe(expected);
  });
});

describe('fromAnthropicMessage', () => {
  const message = {
    id: 'msg_01abc',
    type: 'message',
    role: 'assistant',
    model: 'claude-sonnet-4-6',
    content: [
      { type: 'thinking', thinking: 'hmm', signature: 'sig' },
      { type: 'tool_use', id: 'toolu_1', name: 'now', input: {}, caller: { type: 'direct' } },
    ],
    stop_reason: 'tool_use',
    stop_sequence: null,
    usage: { input_tokens: 3, output_tokens: 4, cache_creation_input_tokens: null, cache_read_input_tokens: null },
  } as unknown as Anthropic.Message;

  it('derives the id from the message id and leaves content null when there is no text', () => {
    const out = fromAnthropicMessage(message, { model: 'claude-fast' });
    expect(out.id).toBe('chatcmpl-01abc');
    expect(Math.abs(out.created - Date.now() / 1000)).toBeLessThan(5);
    expect(out.choices[0].message.content).toBeNull();
    expect(out.choices[0].message.tool_calls).toEqual([{ id: 'toolu_1', type: 'function', function: { name: 'now', arguments: '{}' } }]);
    expect(out.usage).toEqual({ prompt_tokens: 3, completion_tokens: 4, total_tokens: 7, prompt_tokens_details: { cached_tokens: 0 } });
  });
});

describe('fromAnthropicError', () => {
  const body = (type: string, message = 'boom') => ({ type: 'error', error: { type, message }, request_id: 'req_1' });

  it.each([
    [400, 'invalid_request_error', 400, 'invalid_request_error', null],
    [401, 'authentication_error', 401, 'authentication_error', 'invalid_api_key'],
    [402, 'billing_error', 402, 'insufficient_quota', 'insufficient_quota'],
    [403, 'permission_error', 403, 'permission_error', null],
    [404, 'not_found_error', 404, 'invalid_request_error', 'not_found'],
    [413, 'request_too_large', 413, 'invalid_request_error', 'request_too_large'],
    [429, 'rate_limit_error', 429, 'rate_limit_error', 'rate_limit_exceeded'],
    [500, 'api_error', 500, 'server_error', null],
    [504, 'timeout_error', 504, 'server_error', 'timeout'],
    [529, 'overloaded_error', 503, 'server_error', 'overloaded'],
  ])('%i %s → %i %s', (status, anthropicType, outStatus, type, code) => {
    expect(fromAnthropicError(status, body(anthropicType))).toEqual({
      status: outStatus,
      error: { message: 'boom', type, code, param: null },
    });
  });

  it('reads a JSON string or Buffer body', () => {
    const fromString = fromAnthropicError(429, JSON.stringify(body('rate_limit_error', 'slow down')));
    const fromBuffer = fromAnthropicError(429, Buffer.from(JSON.stringify(body('rate_limit_error', 'slow down'))));
    expect(fromString.error.message).toBe('slow down');
    expect(fromBuffer).toEqual(fromString);
  });

  it('falls back on the status for an unknown or unreadable body', () => {
    expect(fromAnthropicError(502, '<html>Bad gateway</html>')).toEqual({
      status: 502,
      error: { message: 'Anthropic returned HTTP 502', type: 'server_error', code: null, param: null },
    });
    expect(fromAnthropicError(418, body('teapot_error', 'short and stout')).error).toEqual({
      message: 'short and stout',
      type: 'invalid_request_error',
      code: null,
      param: null,
    });
  });

  it('never repeats a key-shaped string from the upstream message', () => {
    const out = fromAnthropicError(401, body('authentication_error', 'invalid x-api-key sk-ant-api03-AbCdEfGhIjKlMnOp'));
    expect(out.error.message).not.toContain('AbCdEfGhIjKlMnOp');
    expect(out.error.message).toContain('invalid x-api-key');
  });
});
