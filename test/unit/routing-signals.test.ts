import { cooldownFor, COOLDOWN_MS, exhaustedFor, parseGoDuration, parseRetryAfter } from '../../src/routing/upstream-signals';

const NOW = Date.parse('2025-06-01T12:00:00Z');

describe('parseRetryAfter', () => {
  it('reads delta seconds, HTTP dates and retry-after-ms', () => {
    expect(parseRetryAfter({ 'retry-after': '1' }, NOW)).toBe(1000);
    expect(parseRetryAfter({ 'retry-after': '2.5' }, NOW)).toBe(2500);
    expect(parseRetryAfter({ 'retry-after': 'Sun, 01 Jun 2025 12:00:30 GMT' }, NOW)).toBe(30_000);
    expect(parseRetryAfter({ 'retry-after': 'Sun, 01 Jun 2025 11:00:00 GMT' }, NOW)).toBe(0);
    expect(parseRetryAfter({ 'retry-after-ms': '750', 'retry-after': '9' }, NOW)).toBe(750);
    expect(parseRetryAfter({ 'retry-after': ['3', '4'] }, NOW)).toBe(3000);
  });

  it('returns undefined when there is nothing usable', () => {
    expect(parseRetryAfter(undefined, NOW)).toBeUndefined();
    expect(parseRetryAfter({}, NOW)).toBeUndefined();
    expect(parseRetryAfter({ 'retry-after': 'soon' }, NOW)).toBeUndefined();
    expect(parseRetryAfter({ 'retry-after': '-5' }, NOW)).toBeUndefined();
  });
});

describe('parseGoDuration', () => {
  it.each([
    ['1s', 1000],
    ['6m0s', 360_000],
    ['20ms', 20],
    ['1h2m3.5s', 3_723_500],
    ['0.5s', 500],
  ])('%s → %d ms', (text, ms) => expect(parseGoDuration(text)).toBe(ms));

  it('rejects anything else', () => {
    for (const bad of ['', '5', '1x', 's', '1s garbage', '-1s']) expect(parseGoDuration(bad)).toBeUndefined();
  });
});

describe('exhaustedFor', () => {
  it('is undefined while the upstream reports capacity left', () => {
    expect(exhaustedFor({ 'x-ratelimit-remaining-requests': '10', 'anthropic-ratelimit-requests-remaining': '3999' }, NOW)).toBeUndefined();
    expect(exhaustedFor(undefined, NOW)).toBeUndefined();
  });

  it('reads OpenAI headers: no requests or tokens left until the reset', () => {
    expect(exhaustedFor({ 'x-ratelimit-remaining-requests': '0', 'x-ratelimit-reset-requests': '6m0s' }, NOW)).toBe(360_000);
    expect(exhaustedFor({ 'x-ratelimit-remaining-tokens': '0', 'x-ratelimit-reset-tokens': '1s' }, NOW)).toBe(1000);
    // the longer of the two resets wins
    expect(
      exhaustedFor(
        { 'x-ratelimit-remaining-requests': '0', 'x-ratelimit-reset-requests': '2s', 'x-ratelimit-remaining-tokens': '0', 'x-ratelimit-reset-tokens': '7s' },
        NOW,
      ),
    ).toBe(7000);
  });

  it('reads Anthropic headers with RFC 3339 resets', () => {
    const headers = { 'anthropic-ratelimit-requests-remaining': '0', 'anthropic-ratelimit-requests-reset': '2025-06-01T12:00:20Z' };
    expect(exhaustedFor(headers, NOW)).toBe(20_000);
    const tokens = { 'anthropic-ratelimit-output-tokens-remaining': '0', 'anthropic-ratelimit-output-tokens-reset': '2025-06-01T12:00:05Z' };
    expect(exhaustedFor(tokens, NOW)).toBe(5000);
  });

  it('assumes one second when the reset is missing or unreadable, and caps long resets', () => {
    expect(exhaustedFor({ 'x-ratelimit-remaining-requests': '0' }, NOW)).toBe(1000);
    expect(exhaustedFor({ 'anthropic-ratelimit-requests-remaining': '0', 'anthropic-ratelimit-requests-reset': 'later' }, NOW)).toBe(1000);
    expect(exhaustedFor({ 'x-ratelimit-remaining-requests': '0', 'x-ratelimit-reset-requests': '48h' }, NOW)).toBe(COOLDOWN_MS.max);
  });
});

describe('cooldownFor', () => {
  it('honours Retry-After, defaults by reason, and caps', () => {
    expect(cooldownFor('rate_limited', 1000)).toBe(1000);
    expect(cooldownFor('rate_limited', undefined)).toBe(COOLDOWN_MS.rate_limited);
    expect(cooldownFor('server_error', undefined)).toBe(COOLDOWN_MS.server_error);
    expect(cooldownFor('timeout', undefined)).toBe(COOLDOWN_MS.timeout);
    expect(cooldownFor('connection_error', undefined)).toBe(COOLDOWN_MS.connection_error);
    expect(cooldownFor('rate_limited', 24 * 3600_000)).toBe(COOLDOWN_MS.max);
    expect(cooldownFor('rate_limited', 0)).toBe(250);
  });
});
