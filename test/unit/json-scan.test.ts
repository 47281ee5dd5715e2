import fc from 'fast-check';
import { bytesAsSent, tailMember, uniqueTopLevelKeys } from '../../src/providers/json-scan';
import type { LlmRequest } from '../../src/providers/types';

const b = (text: string) => Buffer.from(text, 'utf8');

describe('tailMember: a top-level member read from the end of a JSON answer', () => {
  it('finds usage last, or followed by further members (OpenAI adds service_tier and system_fingerprint after it)', () => {
    expect(tailMember(b('{"id":"x","usage":{"prompt_tokens":3,"total_tokens":5}}'), 'usage')).toEqual({ value: { prompt_tokens: 3, total_tokens: 5 } });
    expect(tailMember(b('{"usage":{"a":1} , "service_tier":"default","system_fingerprint":null,"n":[1,{"b":"}"}]}\n'), 'usage')).toEqual({ value: { a: 1 } });
    expect(tailMember(b(' {\n  "data": [0.1, -2e-3],\n  "usage": { "prompt_tokens": 7 }\n}\n'), 'usage')).toEqual({ value: { prompt_tokens: 7 } });
  });

  it('declines what is not a top-level member, and anything cut short or not an object', () => {
    // nested, last or not
    expect(tailMember(b('{"choices":[{"usage":{"a":1}}]}'), 'usage')).toBeNull();
    expect(tailMember(b('{"a":{"usage":{"a":1}},"b":2}'), 'usage')).toBeNull();
    // a string value that says "usage"
    expect(tailMember(b('{"note":"usage"}'), 'usage')).toBeNull();
    // cut short, trailing bytes, not an object
    expect(tailMember(b('{"usage":{"prompt_tokens":3}'), 'usage')).toBeNull();
    expect(tailMember(b('{"usage":{"prompt_tokens":3}}garbage'), 'usage')).toBeNull();
    expect(tailMember(b('<html>"usage":{}</html>'), 'usage')).toBeNull();
    expect(tailMember(b('[{"usage":{}}]'), 'usage')).toBeNull();
    expect(tailMember(b(''), 'usage')).toBeNull();
  });

  it('steps over strings holding quotes, escaped backslashes and braces', () => {
    const text = '{"content":"say \\"usage\\": {} and \\\\","usage":{"k":"}\\"{"}}';
    expect(JSON.parse(text).usage).toEqual({ k: '}"{' });
    expect(tailMember(b(text), 'usage')).toEqual({ value: { k: '}"{' } });
  });

  it('never disagrees with JSON.parse on an object it does read (4,000 random objects)', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.jsonValue()), fc.option(fc.jsonValue()), fc.boolean(), (obj, usage, pretty) => {
        const value = usage === null ? obj : { ...obj, usage };
        const text = JSON.stringify(value, null, pretty ? 2 : undefined);
        const found = tailMember(b(text), 'usage');
        const parsed = JSON.parse(text) as Record<string, unknown>;
        if (found) expect(found.value).toEqual(parsed.usage);
        // added last, it is always found
        if (usage !== null && !('usage' in obj)) expect(found).not.toBeNull();
      }),
      { numRuns: 4000 },
    );
  });
});

describe('uniqueTopLevelKeys: whether every parser reads the same members from a client body', () => {
  it('says yes to distinct plain keys, nested duplicates included', () => {
    expect(uniqueTopLevelKeys(b('{"model":"gpt-4o","messages":[{"role":"user","content":"x","role":"y"}],"meta":{"a":1,"a":2}}'))).toBe(true);
    expect(uniqueTopLevelKeys(b('  {}  '))).toBe(true);
  });

  it('says no to a repeated top-level key, a key written with escapes, and anything that is not one whole object', () => {
    expect(uniqueTopLevelKeys(b('{"model":"cheap","messages":[],"model":"dear"}'))).toBe(false);
    expect(uniqueTopLevelKeys(b('{"model":"cheap","mod\\u0065l":"dear"}'))).toBe(false);
    expect(uniqueTopLevelKeys(b('{"model":"x"}{"model":"y"}'))).toBe(false);
    expect(uniqueTopLevelKeys(b('{"model":"x"'))).toBe(false);
    expect(uniqueTopLevelKeys(b('[{"model":"x"}]'))).toBe(false);
  });

  it('agrees with JSON.parse on random objects: yes exactly when the keys are plain and distinct', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.constantFrom('model', 'messages', 'stream', 'x', 'é'), fc.jsonValue()), { maxLength: 6 }), (members) => {
        const text = `{${members.map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`).join(',')}}`;
        const distinct = new Set(members.map(([k]) => k)).size === members.length;
        expect(uniqueTopLevelKeys(b(text))).toBe(distinct);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('bytesAsSent', () => {
  const req = (over: Partial<LlmRequest>): LlmRequest => ({
    surface: 'chat',
    body: { model: 'gpt-4o', messages: [] },
    model: 'gpt-4o',
    stream: false,
    clientWantsStreamUsage: false,
    clientHeaders: {},
    anthropicVersion: '2023-06-01',
    ...over,
  });
  const raw = b('{"model":"gpt-4o",  "messages":[]}');

  it('hands back the client bytes only when they name the upstream model and read the same everywhere', () => {
    expect(bytesAsSent(req({ rawBody: raw }))).toBe(raw);
    expect(bytesAsSent(req({}))).toBeNull();
    expect(bytesAsSent(req({ rawBody: raw, model: 'gpt-4o-2024-08-06' }))).toBeNull();
    expect(bytesAsSent(req({ rawBody: b('{"model":"gpt-4o","messages":[],"model":"gpt-4o"}') }))).toBeNull();
  });
});
