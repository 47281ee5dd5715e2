import { createHash } from 'node:crypto';
import {
  formatGatewayKeyHint,
  GATEWAY_KEY_LENGTH,
  gatewayKeyHint,
  generateGatewayKey,
  hashGatewayKey,
  maskGatewayKey,
  parseGatewayKey,
} from '../../src/keys/key-format';

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

describe('generateGatewayKey', () => {
  it.each(['live', 'test'] as const)('makes a well-formed %s key that parses back', (env) => {
    const key = generateGatewayKey(env);
    expect(key).toMatch(new RegExp(`^kw_${env}_[0-9A-Za-z]{46}$`));
    expect(key).toHaveLength(GATEWAY_KEY_LENGTH);
    expect(parseGatewayKey(key)).toEqual({ env });
  });

  it('never repeats and uses the whole base62 alphabet', () => {
    const keys = Array.from({ length: 300 }, () => generateGatewayKey('live'));
    expect(new Set(keys).size).toBe(keys.length);
    const seen = new Set(keys.flatMap((key) => [...key.slice(8, 48)]));
    expect(seen.size).toBe(62);
  });
});

describe('parseGatewayKey', () => {
  const sample = generateGatewayKey('live');

  it('catches every single-character substitution anywhere in the key', () => {
    let tried = 0;
    for (let i = 0; i < sample.length; i++) {
      const alphabet = i < 8 ? `${BASE62}_` : BASE62;
      for (const ch of alphabet) {
        if (ch === sample[i]) continue;
        const mistyped = sample.slice(0, i) + ch + sample.slice(i + 1);
        expect(parseGatewayKey(mistyped)).toBeNull();
        tried++;
      }
    }
    expect(tried).toBeGreaterThan(3000);
  });

  it('catches adjacent transpositions in the random part', () => {
    for (let i = 8; i < sample.length - 1; i++) {
      if (sample[i] === sample[i + 1]) continue;
      const swapped = sample.slice(0, i) + sample[i + 1] + sample[i] + sample.slice(i + 2);
      expect(parseGatewayKey(swapped)).toBeNull();
    }
  });

  it.each([
    ['wrong prefix', () => `kw_prod_${sample.slice(8)}`],
    ['other vendor prefix', () => `sk_live_${sample.slice(8)}`],
    ['one character short', () => sample.slice(0, -1)],
    ['one character long', () => `${sample}a`],
    ['non-base62 character', () => `${sample.slice(0, 20)}-${sample.slice(21)}`],
    ['surrounding whitespace', () => ` ${sample.slice(1)}`],
    ['live key relabelled as test', () => `kw_test_${sample.slice(8)}`],
    ['empty', () => ''],
  ])('rejects %s', (_label, make) => {
    expect(parseGatewayKey(make())).toBeNull();
  });

  it('rejects non-strings without throwing', () => {
    expect(parseGatewayKey(undefined as unknown as string)).toBeNull();
    expect(parseGatewayKey(42 as unknown as string)).toBeNull();
  });
});

describe('hashGatewayKey', () => {
  it('is the SHA-256 hex of the key', () => {
    const key = generateGatewayKey('test');
    expect(hashGatewayKey(key)).toBe(createHash('sha256').update(key).digest('hex'));
    expect(hashGatewayKey(key)).toMatch(/^[0-9a-f]{64}$/);
    expect(hashGatewayKey(key)).not.toBe(hashGatewayKey(generateGatewayKey('test')));
  });
});

describe('masking', () => {
  it('shows the prefix and the last 4 characters only', () => {
    const key = generateGatewayKey('live');
    expect(maskGatewayKey(key)).toBe(`kw_live_…${key.slice(-4)}`);
    expect(gatewayKeyHint(key)).toEqual({ prefix: 'kw_live_', last4: key.slice(-4) });
    expect(formatGatewayKeyHint(gatewayKeyHint(key))).toBe(maskGatewayKey(key));
    const test = generateGatewayKey('test');
    expect(maskGatewayKey(test)).toBe(`kw_test_…${test.slice(-4)}`);
  });

  it('shows no tail for strings that are not plausible gateway keys', () => {
    expect(maskGatewayKey('sk-proj-abcdefghijklmnopqrstuvwxyz')).toBe('…');
    expect(maskGatewayKey('kw_live_abc')).toBe('kw_live_…');
    expect(maskGatewayKey('')).toBe('…');
  });
});
