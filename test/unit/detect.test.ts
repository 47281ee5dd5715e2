import { BUILTIN_KEY_PATTERNS, defaultEnvironment, detectService, isValidPattern } from '../../src/wallet/detect';

const builtins = Object.entries(BUILTIN_KEY_PATTERNS).map(([slug, keyPattern]) => ({ slug, keyPattern }));
const pad = (n: number, ch = 'a') => ch.repeat(n);

describe('detectService with the built-in patterns', () => {
  it.each([
    ['anthropic', `sk-ant-api03-${pad(40, 'Ab_-9')}`],
    ['anthropic', `sk-ant-admin01-${pad(30, 'x')}`],
    ['anthropic', `sk-ant-oat01-${pad(30, 'Z')}`],
    ['openai', `sk-proj-${pad(40, 'Ab9_-')}`],
    ['openai', `sk-svcacct-${pad(30, 'Q')}`],
    ['openai', `sk-admin-${pad(30, 'Q')}`],
    ['openai', `sk-${pad(48, 'T3')}`],
    ['stripe', 'sk_live_51HabcdefGHIJKLmnop'],
    ['stripe', 'sk_test_4eC39HqLyjWDarjtT1zdp7dc'],
    ['stripe', 'rk_live_abcdefghijKLMN'],
    ['googlemaps', 'AIzaSyD-abc_defGHIJKLMNOPqrstuvwxyz0123'],
    ['openweather', '0123456789abcdef0123456789abcdef'],
    ['groq', `gsk_${pad(52, 'aB3')}`],
    ['xai', `xai-${pad(80, 'Xy9')}`],
    ['openrouter', `sk-or-v1-${pad(64, 'f0')}`],
  ])('recognises %s key %#', (service, secret) => {
    expect(detectService(secret, builtins)).toEqual({ ok: true, service });
  });

  it.each([
    ['a Stripe publishable key', 'pk_live_abcdefghijklmnop'],
    ['an upper-case hex string', '0123456789ABCDEF0123456789ABCDEF'],
    ['a Google key one character short', `AIza${pad(34)}`],
    ['a too-short OpenAI key', 'sk-abc'],
    ['an Anthropic prefix with a short body', 'sk-ant-api03-short'],
    ['a gateway key', `kw_live_${pad(46)}`],
    ['empty', ''],
  ])('reports %s as unknown', (_label, secret) => {
    expect(detectService(secret, builtins)).toEqual({ ok: false, reason: 'unknown', candidates: [] });
  });

  it('never classifies an Anthropic or OpenRouter key as OpenAI', () => {
    expect(new RegExp(BUILTIN_KEY_PATTERNS.openai).test(`sk-ant-api03-${pad(40)}`)).toBe(false);
    expect(new RegExp(BUILTIN_KEY_PATTERNS.openai).test(`sk-or-v1-${pad(64)}`)).toBe(false);
  });
});

describe('detectService with custom services', () => {
  const custom = [...builtins, { slug: 'acme', keyPattern: '^acme_[0-9a-z]{16}$' }];

  it('detects a custom service by its pattern', () => {
    expect(detectService('acme_0123456789abcdef', custom)).toEqual({ ok: true, service: 'acme' });
  });

  it('reports a secret that matches two services as ambiguous, listing both', () => {
    const overlapping = [...builtins, { slug: 'weatherco', keyPattern: '^[0-9a-f]{32}$' }];
    expect(detectService('0123456789abcdef0123456789abcdef', overlapping)).toEqual({
      ok: false,
      reason: 'ambiguous',
      candidates: ['openweather', 'weatherco'],
    });
  });

  it('ignores invalid and missing patterns instead of throwing', () => {
    const services = [
      { slug: 'broken', keyPattern: '^(unclosed' },
      { slug: 'none', keyPattern: null },
      { slug: 'acme', keyPattern: '^acme_' },
    ];
    expect(detectService('acme_x', services)).toEqual({ ok: true, service: 'acme' });
    expect(detectService('(unclosed', services)).toEqual({ ok: false, reason: 'unknown', candidates: [] });
  });

  it('does not double-count one slug listed twice', () => {
    const services = [{ slug: 'acme', keyPattern: '^acme_' }, { slug: 'acme', keyPattern: 'acme' }];
    expect(detectService('acme_1', services)).toEqual({ ok: true, service: 'acme' });
  });
});

describe('isValidPattern', () => {
  it('accepts every built-in pattern and ordinary regexes', () => {
    for (const source of Object.values(BUILTIN_KEY_PATTERNS)) expect(isValidPattern(source)).toBe(true);
    expect(isValidPattern('^key-[a-z]+$')).toBe(true);
  });
  it.each(['^(unclosed', '[z-a]', '*abc', '', 'a'.repeat(1001)])('rejects %p', (source) => {
    expect(isValidPattern(source)).toBe(false);
  });
});

describe('defaultEnvironment', () => {
  it.each([
    ['sk_test_abc', 'test'],
    ['rk_test_abc', 'test'],
    ['pk_test_abc', 'test'],
    ['sk_live_abc', 'live'],
    ['sk-proj-abc', 'live'],
    ['xsk_test_abc', 'live'],
  ] as const)('%s → %s', (secret, env) => {
    expect(defaultEnvironment(secret)).toBe(env);
  });
});
