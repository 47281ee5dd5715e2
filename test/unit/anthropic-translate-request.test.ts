import { DEFAULT_MAX_TOKENS, toAnthropicRequest, TranslationError } from '../../src/providers/anthropic';

const OPTS = { model: 'claude-sonnet-4-6', version: '2023-06-01' };
const user = (content: unknown) => ({ role: 'user', content });

function translate(body: Record<string, unknown>, opts: Partial<typeof OPTS> & { defaultMaxTokens?: number } = {}) {
  return toAnthropicRequest({ model: 'x', messages: [user('hi')], ...body }, { ...OPTS, ...opts });
}

function translationError(body: unknown): TranslationError {
  try {
    toAnthropicRequest(body, OPTS);
  } catch (err) {
    if (err instanceof TranslationError) return err;
    throw err;
  }
  throw new Error('expected a TranslationError');
}

describe('toAnthropicRequest: parameters', () => {
  it('uses the default max_tokens, or the one given in the options', () => {
    expect(translate({}).max_tokens).toBe(DEFAULT_MAX_TOKENS);
    expect(translate({}, { defaultMaxTokens: 1000 }).max_tokens).toBe(1000);
    expect(translate({ max_tokens: 12 }).max_tokens).toBe(12);
  });

  it('clamps temperature to Anthropic’s 0–1 and keeps 0', () => {
    expect(translate({ temperature: 2 }).temperature).toBe(1);
    expect(translate({ temperature: 0 }).temperature).toBe(0);
    expect(translate({ temperature: 0.35 }).temperature).toBe(0.35);
  });

  it('drops sampling params for 2026-10-21 and later versions', () => {
    for (const version of ['2026-10-21', '2027-01-15']) {
      const out = translate({ temperature: 0.5, top_p: 0.5 }, { version });
      expect(out).not.toHaveProperty('temperature');
      expect(out).not.toHaveProperty('top_p');
    }
  });

  it('maps each tool_choice form', () => {
    const tools = [{ type: 'function', function: { name: 'f' } }];
    expect(translate({ tools, tool_choice: 'auto' }).tool_choice).toEqual({ type: 'auto' });
    expect(translate({ tools, tool_choice: 'none' }).tool_choice).toEqual({ type: 'none' });
    expect(translate({ tools, tool_choice: 'required' }).tool_choice).toEqual({ type: 'any' });
    expect(translate({ tools }).tool_choice).toBeUndefined();
    expect(translate({ tools, parallel_tool_calls: false }).tool_choice).toEqual({ type: 'auto', disable_parallel_tool_use: true });
    expect(translate({ tools, tool_choice: 'none', parallel_tool_calls: false }).tool_choice).toEqual({ type: 'none' });
  });

  it('ignores tool_choice "auto"/"none" without tools but rejects a forced one', () => {
    expect(translate({ tool_choice: 'auto' })).not.toHaveProperty('tool_choice');
    expect(translate({ tools: [], tool_choice: 'none' })).not.toHaveProperty('tools');
    expect(() => translate({ tool_choice: 'required' })).toThrow(TranslationError);
  });

  it('takes stop as a single string and safety_identifier as the user id', () => {
    const out = translate({ stop: 'END', safety_identifier: 'hash-1' });
    expect(out.stop_sequences).toEqual(['END']);
    expect(out.metadata).toEqual({ user_id: 'hash-1' });
  });

  it('passes stream: false through and leaves it out when absent', () => {
    expect(translate({ stream: false }).stream).toBe(false);
    expect(translate({})).not.toHaveProperty('stream');
  });
});

describe('toAnthropicRequest: messages', () => {
  it('maps a jpg data URL to image/jpeg and accepts a bare string image_url', () => {
    const out = translate({
      messages: [user([{ type: 'image_url', image_url: 'data:image/jpg;base64,AAAA' }])],
    });
    expect(out.messages[0].content).toEqual([{ type: 'image', source: { type: 'base64', media_type: 'image/jpeg', data: 'AAAA' } }]);
  });

  it('sends an inline PDF as a document block', () => {
    const out = translate({ messages: [user([{ type: 'file', file: { file_data: 'data:application/pdf;base64,JVBERi0x' } }])] });
    expect(out.messages[0].content).toEqual([
      { type: 'document', source: { type: 'base64', media_type: 'application/pdf', data: 'JVBERi0x' } },
    ]);
  });

  it('turns empty tool arguments into an empty input and keeps tool_result order before text', () => {
    const out = translate({
      messages: [
        user('go'),
        { role: 'assistant', content: null, tool_calls: [{ id: 't1', type: 'function', function: { name: 'f', arguments: '' } }] },
        user('and then?'),
        { role: 'tool', tool_call_id: 't1', content: '' },
      ],
    });
    expect(out.messages[1]).toEqual({ role: 'assistant', content: [{ type: 'tool_use', id: 't1', name: 'f', input: {} }] });
    expect(out.messages[2]).toEqual({
      role: 'user',
      content: [
        { type: 'tool_result', tool_use_id: 't1' },
        { type: 'text', text: 'and then?' },
      ],
    });
  });

  it('adds the JSON instruction as a block when the system prompt is in blocks', () => {
    const out = translate({
      messages: [{ role: 'system', content: [{ type: 'text', text: 'Be brief.', cache_control: { type: 'ephemeral', ttl: '1h' } }] }, user('hi')],
      response_format: { type: 'json_object' },
    });
    expect(out.system).toEqual([
      { type: 'text', text: 'Be brief.', cache_control: { type: 'ephemeral', ttl: '1h' } },
      { type: 'text', text: expect.stringContaining('valid JSON object') },
    ]);
  });
});

describe('toAnthropicRequest: unsupported input', () => {
  const base = { model: 'x', messages: [user('hi')] };
  const cases: { name: string; body: unknown; param: string }[] = [
    { name: 'a body that is not an object', body: [], param: 'body' },
    { name: 'no messages', body: { model: 'x', messages: [] }, param: 'messages' },
    { name: 'only a system message', body: { messages: [{ role: 'system', content: 'hi' }] }, param: 'messages' },
    { name: 'n > 1', body: { ...base, n: 2 }, param: 'n' },
    { name: 'audio output', body: { ...base, modalities: ['text', 'audio'] }, param: 'modalities' },
    { name: 'logprobs', body: { ...base, logprobs: true }, param: 'logprobs' },
    { name: 'legacy functions', body: { ...base, functions: [] }, param: 'functions' },
    { name: 'an unknown role', body: { messages: [{ role: 'narrator', content: 'hi' }] }, param: 'messages[0].role' },
    { name: 'the function role', body: { messages: [{ role: 'function', name: 'f', content: '1' }] }, param: 'messages[0].role' },
    {
      name: 'an audio part',
      body: { messages: [user([{ type: 'text', text: 'listen' }, { type: 'input_audio', input_audio: { data: 'AA', format: 'wav' } }])] },
      param: 'messages[0].content[1].type',
    },
    {
      name: 'an SVG image',
      body: { messages: [user([{ type: 'image_url', image_url: { url: 'data:image/svg+xml;base64,PHN2Zz4=' } }])] },
      param: 'messages[0].content[0].image_url.url',
    },
    {
      name: 'a non-base64 data URL',
      body: { messages: [user([{ type: 'image_url', image_url: { url: 'data:image/png,abc' } }])] },
      param: 'messages[0].content[0].image_url.url',
    },
    {
      name: 'an ftp image URL',
      body: { messages: [user([{ type: 'image_url', image_url: { url: 'ftp://example.com/a.png' } }])] },
      param: 'messages[0].content[0].image_url.url',
    },
    {
      name: 'invalid tool-call JSON',
      body: {
        messages: [user('x'), { role: 'assistant', tool_calls: [{ id: 'a', type: 'function', function: { name: 'f', arguments: '{"a":' } }] }],
      },
      param: 'messages[1].tool_calls[0].function.arguments',
    },
    {
      name: 'tool-call JSON that is not an object',
      body: {
        messages: [user('x'), { role: 'assistant', tool_calls: [{ id: 'a', type: 'function', function: { name: 'f', arguments: '[1]' } }] }],
      },
      param: 'messages[1].tool_calls[0].function.arguments',
    },
    { name: 'a tool message without an id', body: { messages: [user('x'), { role: 'tool', content: 'r' }] }, param: 'messages[1].tool_call_id' },
    { name: 'a custom tool', body: { ...base, tools: [{ type: 'custom', custom: { name: 'c' } }] }, param: 'tools[0]' },
    {
      name: 'non-object tool parameters',
      body: { ...base, tools: [{ type: 'function', function: { name: 'f', parameters: { type: 'string' } } }] },
      param: 'tools[0].function.parameters.type',
    },
    { name: 'a bad tool_choice', body: { ...base, tools: [{ type: 'function', function: { name: 'f' } }], tool_choice: 'always' }, param: 'tool_choice' },
    { name: 'a zero max_tokens', body: { ...base, max_tokens: 0 }, param: 'max_tokens' },
    { name: 'a fractional max_completion_tokens', body: { ...base, max_completion_tokens: 1.5 }, param: 'max_completion_tokens' },
    { name: 'a string temperature', body: { ...base, temperature: 'hot' }, param: 'temperature' },
    { name: 'a numeric stop', body: { ...base, stop: [1] }, param: 'stop' },
    { name: 'an unknown response_format', body: { ...base, response_format: { type: 'xml' } }, param: 'response_format' },
  ];

  it.each(cases)('rejects $name with param $param', ({ body, param }) => {
    const err = translationError(body);
    expect(err).toBeInstanceOf(Error);
    expect(err.name).toBe('TranslationError');
    expect(err.param).toBe(param);
    expect(err.message.length).toBeGreaterThan(0);
  });
});
