import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatSse, SseParser, type SseEvent } from '../../src/providers/sse';

const sample = readFileSync(join(__dirname, '..', 'fixtures', 'anthropic', 'stream-text.anthropic.sse'));

function parseAll(chunks: (Buffer | string)[]): SseEvent[] {
  const parser = new SseParser();
  return [...chunks.flatMap((c) => parser.push(c)), ...parser.flush()];
}

const expected = parseAll([sample]);

describe('SseParser', () => {
  it('reads every event of an Anthropic stream with its name and data', () => {
    expect(expected.map((e) => e.event)).toEqual([
      'message_start',
      'content_block_start',
      'ping',
      'content_block_delta',
      'content_block_delta',
      'content_block_stop',
      'message_delta',
      'message_stop',
    ]);
    expect(JSON.parse(expected[4].data).delta.text).toBe(', wörld! 👋');
  });

  it.each([
    ['LF', (s: string) => s],
    ['CRLF', (s: string) => s.replace(/\n/g, '\r\n')],
    ['CR', (s: string) => s.replace(/\n/g, '\r')],
  ])('gives the same events for a %s stream split at every byte offset', (_name, convert) => {
    const bytes = Buffer.from(convert(sample.toString('utf8')));
    for (let at = 0; at <= bytes.length; at++) {
      expect(parseAll([bytes.subarray(0, at), bytes.subarray(at)])).toEqual(expected);
    }
  });

  it('gives the same events when fed one byte at a time', () => {
    const bytes = Buffer.from(sample);
    const chunks = Array.from({ length: bytes.length }, (_, i) => bytes.subarray(i, i + 1));
    expect(parseAll(chunks)).toEqual(expected);
  });

  it('joins multi-line data, skips comments and takes fields without a space', () => {
    const events = parseAll([': keep-alive\n\nevent:update\ndata:first\ndata: second\n\n:another comment\ndata\n\n']);
    expect(events).toEqual([{ event: 'update', data: 'first\nsecond' }, { data: '' }]);
  });

  it('does not dispatch an event without data, and forgets its name', () => {
    expect(parseAll(['event: lonely\n\ndata: x\n\n'])).toEqual([{ data: 'x' }]);
  });

  it('strips a leading byte-order mark and keeps only one leading space of a value', () => {
    expect(parseAll(['\uFEFFdata:  two spaces\n\n'])).toEqual([{ data: ' two spaces' }]);
  });

  it('dispatches an unterminated final event on flush', () => {
    const parser = new SseParser();
    expect(parser.push('data: {"a":1}\n\ndata: [DONE]')).toEqual([{ data: '{"a":1}' }]);
    expect(parser.flush()).toEqual([{ data: '[DONE]' }]);
  });

  it('keeps a multi-byte character split across chunks', () => {
    const bytes = Buffer.from('data: 👋\n\n');
    expect(parseAll([bytes.subarray(0, 8), bytes.subarray(8)])).toEqual([{ data: '👋' }]);
  });
});

describe('formatSse', () => {
  it('frames objects as JSON with an optional event name', () => {
    expect(formatSse({ a: 1 })).toBe('data: {"a":1}\n\n');
    expect(formatSse({ type: 'error' }, 'error')).toBe('event: error\ndata: {"type":"error"}\n\n');
  });

  it('splits a multi-line string into data lines that parse back to the same text', () => {
    const framed = formatSse('one\ntwo\r\nthree');
    expect(framed).toBe('data: one\ndata: two\ndata: three\n\n');
    expect(parseAll([framed])).toEqual([{ data: 'one\ntwo\nthree' }]);
  });
});
