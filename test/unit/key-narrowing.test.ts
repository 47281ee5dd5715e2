import { ipRangesWithin, modelsWithin, referrersWithin } from '../../src/keys/narrowing';

describe('narrowing a restriction: allows nothing the wider one does not', () => {
  it('IP ranges: every range inside one of the locked ones; empty (no restriction) is never narrower', () => {
    expect(ipRangesWithin(['10.1.0.0/16', '10.2.3.4'], ['10.0.0.0/8'])).toBe(true);
    expect(ipRangesWithin(['10.0.0.0/8'], ['10.0.0.0/8'])).toBe(true);
    expect(ipRangesWithin(['10.0.0.0/7'], ['10.0.0.0/8'])).toBe(false);
    expect(ipRangesWithin(['11.0.0.1'], ['10.0.0.0/8'])).toBe(false);
    expect(ipRangesWithin([], ['10.0.0.0/8'])).toBe(false);
    expect(ipRangesWithin(['2001:db8:1::/48'], ['2001:db8::/32'])).toBe(true);
    expect(ipRangesWithin(['2001:db8::/32'], ['10.0.0.0/8'])).toBe(false);
    expect(ipRangesWithin(['10.1.2.3'], ['::ffff:0:0/96'])).toBe(true);
    expect(ipRangesWithin(['nonsense'], ['0.0.0.0/0'])).toBe(false);
  });

  it('referrers: same scheme and port, a host under a wildcard, the same path', () => {
    expect(referrersWithin(['https://app.example.com', '*.eu.example.com'], ['*.example.com'])).toBe(true);
    expect(referrersWithin(['example.com'], ['*.example.com'])).toBe(false); // the apex is not a subdomain
    expect(referrersWithin(['*.example.com'], ['app.example.com'])).toBe(false);
    expect(referrersWithin(['app.example.com'], ['https://app.example.com'])).toBe(false); // any scheme is wider
    expect(referrersWithin(['https://app.example.com:8443'], ['https://app.example.com'])).toBe(false);
    expect(referrersWithin(['https://app.example.com/a*'], ['https://app.example.com'])).toBe(true);
    expect(referrersWithin(['https://app.example.com'], ['https://app.example.com/a*'])).toBe(false);
    expect(referrersWithin(['*'], ['*.example.com'])).toBe(false);
    expect(referrersWithin(['anything.org'], ['*'])).toBe(true);
  });

  it('models: exact ids and prefixes inside the locked ones; a bare id is wider than a service-qualified one', () => {
    expect(modelsWithin(['gpt-4o-mini', 'gpt-4o*', 'openai/gpt-4o'], ['gpt-4o*'])).toBe(true);
    expect(modelsWithin(['gpt-*'], ['gpt-4o*'])).toBe(false);
    expect(modelsWithin(['gpt-4o'], ['openai/gpt-4o'])).toBe(false);
    expect(modelsWithin(['openai/gpt-4o'], ['openai/*'])).toBe(true);
    expect(modelsWithin(['gpt-4o*'], ['gpt-4o'])).toBe(false);
    expect(modelsWithin([], ['gpt-4o'])).toBe(false);
  });
});
