import { OpenAIStreamUsageReader } from '../../src/providers/openai/stream-usage';
import { estimatePromptTokens, estimateTokens, IMAGE_TOKEN_ESTIMATE } from '../../src/providers/tokens';

/** Chunks as api.openai.com sends them for gpt-4o-mini, with and without stream_options.include_usage. */
function openAIStream(includeUsage: boolean): string {
  const head = '"id":"chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT","object":"chat.completion.chunk","created":1741570283,"model":"gpt-4o-mini-2024-07-18","service_tier":"default","system_fingerprint":"fp_06737a9306"';
  const tail = includeUsage ? ',"usage":null' : '';
  const chunk = (delta: string, finish = 'null') =>
    `data: {${head},"choices":[{"index":0,"delta":${delta},"logprobs":null,"finish_reason":${finish}}]${tail}}\n\n`;
  let out = chunk('{"role":"assistant","content":"","refusal":null}');
  for (const piece of ['Hello', '!', ' How', ' can', ' I', ' help', ' ünd 👋', '?']) out += chunk(`{"content":${JSON.stringify(piece)}}`);
  out += chunk('{}', '"stop"');
  if (includeUsage) {
    out +=
      `data: {${head},"choices":[],"usage":{"prompt_tokens":19,"completion_tokens":10,"total_tokens":29,` +
      '"prompt_tokens_details":{"cached_tokens":0,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":0,' +
      '"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}}}\n\n';
  }
  return `${out}data: [DONE]\n\n`;
}

const TEXT = 'Hello! How can I help ünd 👋?';

function read(chunks: Buffer[]): OpenAIStreamUsageReader {
  const reader = new OpenAIStreamUsageReader();
  for (const c of chunks) reader.push(c);
  reader.end();
  return reader;
}

describe('OpenAIStreamUsageReader', () => {
  it('reads the usage chunk, [DONE] and the text of a stream with include_usage', () => {
    const reader = read([Buffer.from(openAIStream(true))]);
    expect(reader.usage).toEqual({ promptTokens: 19, completionTokens: 10 });
    expect(reader.sawDone).toBe(true);
    expect(reader.completionText).toBe(TEXT);
  });

  it('reports no usage for a stream without the usage chunk', () => {
    const reader = read([Buffer.from(openAIStream(false))]);
    expect(reader.usage).toBeNull();
    expect(reader.sawDone).toBe(true);
    expect(reader.completionText).toBe(TEXT);
  });

  it('gives the same result whatever byte the stream is split at', () => {
    const bytes = Buffer.from(openAIStream(true));
    for (let at = 0; at <= bytes.length; at += 7) {
      const reader = read([bytes.subarray(0, at), bytes.subarray(at)]);
      expect([reader.usage, reader.sawDone, reader.completionText]).toEqual([{ promptTokens: 19, completionTokens: 10 }, true, TEXT]);
    }
  });

  it('keeps the text seen so far when the stream breaks off', () => {
    const full = openAIStream(true);
    const cut = full.slice(0, full.indexOf(' can'));
    const reader = read([Buffer.from(cut)]);
    expect(reader.sawDone).toBe(false);
    expect(reader.usage).toBeNull();
    expect(reader.completionText).toBe('Hello! How');
  });

  it('parses only the chunks that can hold content or usage', () => {
    const parse = jest.spyOn(JSON, 'parse');
    try {
      read([Buffer.from(openAIStream(true))]);
      // 9 content chunks (the role chunk's "" included) and the usage chunk; not the finish chunk.
      expect(parse).toHaveBeenCalledTimes(10);
    } finally {
      parse.mockRestore();
    }
  });

  it('counts tool-call names and arguments as output text', () => {
    const stream =
      'data: {"choices":[{"index":0,"delta":{"role":"assistant","content":null,"tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"get_weather","arguments":""}}]},"finish_reason":null}]}\n\n' +
      'data: {"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\\"city\\":\\"Paris\\"}"}}]},"finish_reason":null}]}\n\n' +
      'data: {"choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}\n\ndata: [DONE]\n\n';
    expect(read([Buffer.from(stream)]).completionText).toBe('get_weather{"city":"Paris"}');
  });
});

describe('token estimates', () => {
  it('estimates about four characters per token', () => {
    expect(estimateTokens('')).toBe(0);
    expect(estimateTokens('abcd')).toBe(1);
    expect(estimateTokens('abcde')).toBe(2);
    expect(estimateTokens(TEXT)).toBe(Math.ceil(TEXT.length / 4));
  });

  it('counts text parts, tool calls and a fixed amount per image in OpenAI messages', () => {
    const messages = [
      { role: 'system', content: 'abcdefgh' },
      { role: 'user', content: [{ type: 'text', text: 'abcd' }, { type: 'image_url', image_url: { url: 'https://x/y.png' } }] },
      { role: 'assistant', content: null, tool_calls: [{ function: { name: 'abcd', arguments: '{"a":1}' } }] },
    ];
    // 3 messages × 4 overhead + 2 + (1 + image) + (1 + 2)
    expect(estimatePromptTokens(messages)).toBe(12 + 2 + 1 + IMAGE_TOKEN_ESTIMATE + 1 + 2);
  });

  it('counts Anthropic blocks, including tool_use input and tool_result content', () => {
    const messages = [
      { role: 'assistant', content: [{ type: 'tool_use', id: 't', name: 'abcd', input: { a: 1 } }] },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: 't', content: [{ type: 'text', text: 'abcdefgh' }] }, { type: 'image', source: {} }] },
    ];
    expect(estimatePromptTokens(messages)).toBe(8 + (1 + 2) + (2 + IMAGE_TOKEN_ESTIMATE));
    expect(estimatePromptTokens('not messages')).toBe(0);
  });
});
