import {
  ipAllowed,
  isValidCidr,
  isValidReferrerPattern,
  parseCidrList,
  referrerAllowed,
} from '../../src/http/ip-allow';

describe('parseCidrList / isValidCidr', () => {
  it.each(['10.0.0.0/8', '192.168.1.7', '0.0.0.0/0', '2001:db8::/32', '::1', '::/0', '::ffff:10.0.0.0/104', ' 10.0.0.1/32 '])(
    'accepts %p',
    (entry) => {
      expect(isValidCidr(entry)).toBe(true);
      expect(parseCidrList([entry])).toHaveLength(1);
    },
  );

  it.each(['', '10.0.0.0/33', '2001:db8::/129', '10.0.0', '10', '0x0a.0.0.1', '10.0.0.0/-1', '10.0.0.0/8/8', 'example.com', 'fe80::1%eth0', '1.2.3.4/'])(
    'rejects %p',
    (entry) => {
      expect(isValidCidr(entry)).toBe(false);
    },
  );

  it('throws naming the position of the first bad entry', () => {
    expect(() => parseCidrList(['10.0.0.0/8', 'nonsense'])).toThrow(/entry 2 /);
  });

  it('treats a bare address as a single-host range', () => {
    const [v4] = parseCidrList(['192.168.1.7']);
    expect(v4.range[1]).toBe(32);
    const [v6] = parseCidrList(['2001:db8::1']);
    expect(v6.range[1]).toBe(128);
  });
});

describe('ipAllowed', () => {
  const list = parseCidrList(['10.0.0.0/8', '192.168.1.7', '2001:db8:abcd::/48', '::1']);

  it.each([
    ['10.20.30.40', true],
    ['11.0.0.1', false],
    ['192.168.1.7', true],
    ['192.168.1.8', false],
    ['2001:db8:abcd:12::1', true],
    ['2001:db8:abce::1', false],
    ['::1', true],
    ['::2', false],
    ['::ffff:10.1.2.3', true],
    ['::ffff:192.168.1.7', true],
    ['::ffff:11.1.2.3', false],
    ['garbage', false],
    ['', false],
  ] as const)('%s → %s', (ip, expected) => {
    expect(ipAllowed(ip, list)).toBe(expected);
  });

  it('an empty list means no restriction', () => {
    expect(ipAllowed('8.8.8.8', [])).toBe(true);
  });

  it('IPv4 ranges written in mapped form match plain IPv4 clients', () => {
    const mapped = parseCidrList(['::ffff:10.0.0.0/104']);
    expect(ipAllowed('10.9.9.9', mapped)).toBe(true);
    expect(ipAllowed('::ffff:10.9.9.9', mapped)).toBe(true);
    expect(ipAllowed('11.0.0.1', mapped)).toBe(false);
  });

  it('an IPv6 range over the mapped space admits IPv4 clients', () => {
    const allV4 = parseCidrList(['::ffff:0:0/96']);
    expect(ipAllowed('8.8.8.8', allV4)).toBe(true);
    expect(ipAllowed('2001:db8::1', allV4)).toBe(false);
  });

  it('an IPv6 client never matches an IPv4 range by accident', () => {
    expect(ipAllowed('a00::1', parseCidrList(['10.0.0.0/8']))).toBe(false);
  });
});

describe('referrerAllowed', () => {
  it.each([
    ['https://app.example.com', 'https://app.example.com/dashboard?x=1', true],
    ['https://app.example.com', 'http://app.example.com/', false],
    ['https://app.example.com', 'https://APP.Example.com/', true],
    ['https://app.example.com', 'https://app.example.com:8443/', false],
    ['https://app.example.com:443', 'https://app.example.com/', true],
    ['https://app.example.com', 'https://other.example.com/', false],
    ['https://app.example.com', 'https://app.example.com.evil.net/', false],
    ['https://app.example.com', 'https://app.example.com@evil.net/', false],
    ['app.example.com', 'http://app.example.com/x', true],
    ['app.example.com', 'https://app.example.com/x', true],
    ['*.example.com', 'https://a.example.com/', true],
    ['*.example.com', 'http://deep.a.example.com/', true],
    ['*.example.com', 'https://example.com/', false],
    ['*.example.com', 'https://evilexample.com/', false],
    ['*.example.com', 'https://example.com.evil.net/', false],
    ['https://*.example.com/path*', 'https://a.example.com/path', true],
    ['https://*.example.com/path*', 'https://a.example.com/path/deeper', true],
    ['https://*.example.com/path*', 'https://a.example.com/other', false],
    ['https://*.example.com/path*', 'http://a.example.com/path', false],
    ['https://app.example.com/exact', 'https://app.example.com/exact', true],
    ['https://app.example.com/exact', 'https://app.example.com/exact/more', false],
    ['localhost:3000', 'http://localhost:3000/', true],
    ['localhost:3000', 'http://localhost:3001/', false],
    ['localhost', 'http://localhost:3000/', false],
    ['https://app.example.com', 'javascript:alert(1)', false],
    ['https://app.example.com', 'not a url', false],
    ['*', 'https://anything.example/', true],
  ] as const)('pattern %s, referrer %s → %s', (pattern, referrer, expected) => {
    expect(referrerAllowed(referrer, [pattern])).toBe(expected);
  });

  it('a path pattern treats regex characters literally', () => {
    expect(referrerAllowed('https://a.example/v1.0/x', ['https://a.example/v1.0/*'])).toBe(true);
    expect(referrerAllowed('https://a.example/v1x0/x', ['https://a.example/v1.0/*'])).toBe(false);
  });

  it('matches when any pattern in the list matches', () => {
    const patterns = ['https://one.example', '*.two.example'];
    expect(referrerAllowed('https://x.two.example/', patterns)).toBe(true);
    expect(referrerAllowed('https://three.example/', patterns)).toBe(false);
  });

  it('a missing referrer fails a non-empty list and passes an empty one', () => {
    expect(referrerAllowed(undefined, ['https://app.example.com'])).toBe(false);
    expect(referrerAllowed('', ['*'])).toBe(false);
    expect(referrerAllowed(undefined, [])).toBe(true);
  });

  it('invalid patterns never match', () => {
    expect(referrerAllowed('https://a.example.com/', ['https://a.*.com'])).toBe(false);
    expect(referrerAllowed('https://a.example.com/', ['ftp://a.example.com'])).toBe(false);
  });

  it.each([
    ['https://app.example.com', true],
    ['*.example.com', true],
    ['https://*.example.com/path*', true],
    ['*', true],
    ['https://a.*.com', false],
    ['ftp://example.com', false],
    ['', false],
    ['*.', false],
    ['example..com', false],
  ])('isValidReferrerPattern(%p) → %p', (pattern, valid) => {
    expect(isValidReferrerPattern(pattern)).toBe(valid);
  });
});
