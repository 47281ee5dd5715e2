import { parseTrustProxy, resolveClientIp } from '../../src/http/client-ip';
import { loadConfig, ConfigError } from '../../src/config';

describe('TRUST_PROXY', () => {
  it('parses false, true (one hop), hop counts and CIDR lists', () => {
    expect(parseTrustProxy('false')).toBe(false);
    expect(parseTrustProxy('0')).toBe(false);
    expect(parseTrustProxy('true')).toEqual({ hops: 1 });
    expect(parseTrustProxy('1')).toEqual({ hops: 1 });
    expect(parseTrustProxy('2')).toEqual({ hops: 2 });
    const cidrs = parseTrustProxy('10.0.0.0/8, fd00::/8');
    expect(cidrs && cidrs.cidrs?.map((c) => c.source)).toEqual(['10.0.0.0/8', 'fd00::/8']);
  });

  it('refuses anything else at boot, naming the variable', () => {
    for (const bad of ['maybe', '10.0.0.0/40', '99', ',']) {
      expect(() => loadConfig({ TRUST_PROXY: bad, KEYWALLET_MASTER_KEYS: '1:' + Buffer.alloc(32, 1).toString('base64'), JWT_SECRET: 'x'.repeat(40) })).toThrow(ConfigError);
    }
  });
});

describe('resolveClientIp', () => {
  it('ignores X-Forwarded-For when no proxy is trusted', () => {
    expect(resolveClientIp('::ffff:127.0.0.1', '203.0.113.7', false)).toBe('127.0.0.1');
  });

  it('counts hops from the right; the leftmost entry is only used when every entry is a trusted hop', () => {
    const xff = '203.0.113.7, 198.51.100.9, 10.0.0.2';
    expect(resolveClientIp('10.0.0.1', xff, { hops: 1 })).toBe('10.0.0.2');
    expect(resolveClientIp('10.0.0.1', xff, { hops: 2 })).toBe('198.51.100.9');
    expect(resolveClientIp('10.0.0.1', xff, { hops: 3 })).toBe('203.0.113.7');
    expect(resolveClientIp('10.0.0.1', xff, { hops: 5 })).toBe('203.0.113.7');
    expect(resolveClientIp('10.0.0.1', undefined, { hops: 1 })).toBe('10.0.0.1');
  });

  it('stops at a malformed entry instead of believing what lies left of it', () => {
    expect(resolveClientIp('10.0.0.1', '203.0.113.7, not-an-ip, 198.51.100.9', { hops: 3 })).toBe('198.51.100.9');
    expect(resolveClientIp('10.0.0.1', '0x0a.1.1.1', { hops: 1 })).toBe('10.0.0.1');
  });

  it('normalises mapped IPv4, brackets and ports', () => {
    expect(resolveClientIp('10.0.0.1', '[2001:db8::1]:443', { hops: 1 })).toBe('2001:db8::1');
    expect(resolveClientIp('10.0.0.1', '198.51.100.9:5678', { hops: 1 })).toBe('198.51.100.9');
    expect(resolveClientIp('10.0.0.1', '::ffff:198.51.100.9', { hops: 1 })).toBe('198.51.100.9');
  });

  it('walks trusted CIDRs from the socket peer to the first untrusted address', () => {
    const trust = parseTrustProxy('10.0.0.0/8');
    expect(resolveClientIp('10.0.0.1', '203.0.113.7, 198.51.100.9, 10.0.0.2', trust)).toBe('198.51.100.9');
    expect(resolveClientIp('192.0.2.1', '203.0.113.7', trust)).toBe('192.0.2.1');
    expect(resolveClientIp('10.0.0.1', '10.0.0.3, 10.0.0.2', trust)).toBe('10.0.0.3');
  });

  it('answers the same after its memory of addresses fills and starts over (hostile header entries)', () => {
    const trust = parseTrustProxy('1');
    for (let i = 0; i < 5000; i++) {
      const client = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
      expect(resolveClientIp('::ffff:192.0.2.1', `${client}:443`, trust)).toBe(client);
    }
    expect(resolveClientIp('::ffff:192.0.2.1', 'not-an-ip', trust)).toBe('192.0.2.1');
    expect(resolveClientIp('::ffff:192.0.2.1', '[2001:db8::1]:80', trust)).toBe('2001:db8::1');
  });
});
