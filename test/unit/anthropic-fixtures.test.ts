/**
 * Golden fixtures for the OpenAI ⇄ Anthropic translation: each input file is translated and
 * compared exactly with its expected file. Ids and timestamps are passed in, so nothing varies.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type Anthropic from '@anthropic-ai/sdk';
import { AnthropicToOpenAIStream, fromAnthropicMessage, toAnthropicRequest } from '../../src/providers/anthropic';
import { SseParser } from '../../src/providers/sse';

const dir = join(__dirname, '..', 'fixtures', 'anthropic');
const read = (name: string): string => readFileSync(join(dir, name), 'utf8');
const readJson = (name: string): unknown => JSON.parse(read(name));

const FIXED = { id: 'chatcmpl-fixture', created: 1767225600, model: 'claude-quality' };

describe('OpenAI request → Anthropic request (golden)', () => {
  const cases: { input: string; expected: string; model: string; version: string }[] = [
    { input: 'request-system-images', expected: 'request-system-images', model: 'claude-sonnet-4-6', version: '2023-06-01' },
    { input: 'request-tools', expected: 'request-tools', model: 'claude-sonnet-4-6', version: '2026-10-21' },
    { input: 'request-stop-json', expected: 'request-stop-json', model: 'claude-haiku-4-5', version: '2023-06-01' },
    { input: 'request-json-schema', expected: 'request-json-schema', model: 'claude-haiku-4-5', version: '2026-10-21' },
    { input: 'request-cursor-style', expected: 'request-cursor-style', model: 'claude-sonnet-4-6', version: '2023-06-01' },
    { input: 'request-sampling', expected: 'request-sampling.2023-06-01', model: 'claude-sonnet-4-6', version: '2023-06-01' },
    { input: 'request-sampling', expected: 'request-sampling.2026-10-21', model: 'claude-sonnet-4-6', version: '2026-10-21' },
  ];

  it.each(cases)('$expected (anthropic-version $version)', ({ input, expected, model, version }) => {
    const translated = toAnthropicRequest(readJson(`${input}.openai.json`), { model, version });
    expect(translated).toStrictEqual(readJson(`${expected}.anthropic.json`));
  });
});

describe('Anthropic response → OpenAI response (golden)', () => {
  it.each(['response-text', 'response-tool-use', 'response-max-tokens', 'response-stop-sequence', 'response-refusal'])(
    '%s',
    (name) => {
      const message = readJson(`${name}.anthropic.json`) as Anthropic.Message;
      expect(fromAnthropicMessage(message, FIXED)).toStrictEqual(readJson(`${name}.openai.json`));
    },
  );
});

describe('Anthropic stream → OpenAI stream (golden)', () => {
  const cases = [
    { name: 'stream-text', includeUsage: true, finishReason: 'stop', usage: { promptTokens: 125, completionTokens: 15, cacheReadTokens: 100 } },
    { name: 'stream-tool-use', includeUsage: false, finishReason: 'tool_calls', usage: { promptTokens: 412, completionTokens: 58 } as Record<string, number> },
  ];

  it.each(cases)('$name (include_usage: $includeUsage)', ({ name, includeUsage, finishReason, usage }) => {
    const parser = new SseParser();
    const translator = new AnthropicToOpenAIStream({ ...FIXED, includeUsage });
    let out = '';
    for (const event of [...parser.push(Buffer.from(read(`${name}.anthropic.sse`))), ...parser.flush()]) {
      out += translator.push(event);
    }
    expect(translator.sawMessageStop).toBe(true);
    out += translator.finish();
    expect(out).toBe(read(`${name}.openai.sse`));
    expect(translator.finishReason).toBe(finishReason);
    expect(translator.usage).toEqual(usage);
  });
});
