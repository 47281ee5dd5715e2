import {
  assertPublicHost,
  buildUpstreamUrl,
  EndpointRejected,
  isPrivateAddress,
  validateEndpoint,
} from '../../src/proxy/endpoint-guard';

function rejection(fn: () => unknown): EndpointRejected {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(EndpointRejected);
    return err as EndpointRejected;
  }
  throw new Error('expected EndpointRejected');
}

describe('validateEndpoint rejects SSRF probes', () => {
  const probes: Array<[string, string, RegExp]> = [
    ['absolute http URL', 'http://169.254.169.254/latest/meta-data/', /absolute URL/],
    ['absolute https URL', 'https://evil.example/steal', /absolute URL/],
    ['upper-case scheme', 'HTTPS://evil.example', /absolute URL/],
    ['file URL', 'file:///etc/passwd', /absolute URL/],
    ['javascript URL', 'javascript:alert(1)', /absolute URL/],
    ['gopher URL', 'gopher://127.0.0.1:6379/_INFO', /absolute URL/],
    ['scheme without slashes', 'http:evil.example', /absolute URL/],
    ['percent-encoded scheme', '%68ttp://evil.example', /absolute URL/],
    ['protocol-relative', '//evil.example/x', /protocol-relative/],
    ['encoded protocol-relative', '%2f%2fevil.example', /protocol-relative/],
    ['parent segment', '/v1/../admin', /dot path segment/],
    ['leading parent segment', '../secrets', /dot path segment/],
    ['trailing parent segment', '/v1/..', /dot path segment/],
    ['encoded dots', '/v1/%2e%2e/admin', /dot path segment/],
    ['mixed-case encoded dots', '/v1/%2E./admin', /dot path segment/],
    ['half encoded dots', '/v1/.%2e/admin', /dot path segment/],
    ['double-encoded dots', '/v1/%252e%252e/admin', /dot path segment/],
    ['triple-encoded dots', '/v1/%25252e%25252e/admin', /dot path segment/],
    ['dots with encoded slash', '/v1/..%2fadmin', /dot path segment/],
    ['servlet matrix traversal', '/v1/..;/admin', /dot path segment/],
    ['single dot segment', '/v1/./admin', /dot path segment/],
    ['userinfo', '@evil.example/x', /"@"/],
    ['userinfo mid-path', '/v1/user:pass@evil.example', /"@"/],
    ['backslash', '/v1\\..\\admin', /backslash/],
    ['leading backslashes', '\\\\evil.example\\x', /backslash/],
    ['encoded backslash', '/v1/%5c..%5cadmin', /backslash/],
    ['encoded backslash upper case', '/v1/%5Cevil', /backslash/],
    ['NUL byte', '/v1/charges\u0000.json', /control character/],
    ['encoded NUL', '/v1/charges%00.json', /control character/],
    ['encoded CRLF header injection', '/v1/x%0d%0aHost:%20evil', /control character/],
    ['raw newline', '/v1/x\nHost: evil', /control character/],
    ['tab', '/v1/\tadmin', /control character/],
    ['encoded DEL', '/v1/%7f', /control character/],
    ['encoded unit separator', '/v1/%1f', /control character/],
    ['double-encoded NUL', '/v1/%2500', /control character/],
    ['C1 control character', '/v1/\u0085admin', /control character/],
    ['query inside endpoint', '/v1/charges?limit=1', /query or fragment/],
    ['fragment inside endpoint', '/v1/charges#x', /query or fragment/],
    ['leading space before scheme', ' http://evil.example', /whitespace/],
    ['non-breaking space', '/v1/\u00a0x', /whitespace/],
    ['overlong UTF-8 dot', '/v1/%c0%ae%c0%ae/admin', /malformed percent-encoding/],
    ['IIS %u encoding', '/v1/%u002e%u002e/admin', /malformed percent-encoding/],
    ['truncated escape', '/v1/abc%2', /malformed percent-encoding/],
    ['encoding nested past the limit', '/v1/%2525252525252e', /too deeply percent-encoded/],
    ['empty string', '', /empty endpoint/],
    ['too long', `/${'a'.repeat(2048)}`, /too long/],
  ];

  it('has a large probe table', () => {
    expect(probes.length).toBeGreaterThanOrEqual(25);
  });

  it.each(probes)('%s', (_label, endpoint, reason) => {
    const error = rejection(() => validateEndpoint(endpoint));
    expect(error.reason).toMatch(reason);
    expect(error.code).toBe('endpoint_rejected');
    // The rejection must be equally firm when building the full URL.
    rejection(() => buildUpstreamUrl('https://api.example.com/v1', endpoint));
  });

  it('rejects non-string input', () => {
    rejection(() => validateEndpoint(undefined as unknown as string));
    rejection(() => validateEndpoint({ toString: () => '/x' } as unknown as string));
  });
});

describe('validateEndpoint accepts ordinary endpoints', () => {
  it.each([
    ['/v1/charges', '/v1/charges'],
    ['charges', '/charges'],
    ['/', '/'],
    ['/customers/cus_123/sources/', '/customers/cus_123/sources/'],
    ['/data/2.5/weather', '/data/2.5/weather'],
    ['/maps/api/geocode/json', '/maps/api/geocode/json'],
    ['/v1beta/models/gemini-pro:generateContent', '/v1beta/models/gemini-pro:generateContent'],
    ['/files/report%20final.pdf', '/files/report%20final.pdf'],
    ['/users/a%40b.example', '/users/a%40b.example'],
    ['/search/%3Fliteral', '/search/%3Fliteral'],
    ['/discount/100%25', '/discount/100%25'],
    ['/a//b///c', '/a/b/c'],
    ['/v1/...', '/v1/...'],
    ['/v1/.well-known/x', '/v1/.well-known/x'],
    ['/names/café', '/names/café'],
    [`/${'a'.repeat(2047)}`, `/${'a'.repeat(2047)}`],
  ])('%s', (endpoint, expected) => {
    expect(validateEndpoint(endpoint)).toBe(expected);
  });
});

describe('buildUpstreamUrl', () => {
  it('joins the endpoint under the base path', () => {
    expect(buildUpstreamUrl('https://api.x.com/v1', '/charges').href).toBe('https://api.x.com/v1/charges');
    expect(buildUpstreamUrl('https://api.x.com/v1/', 'charges').href).toBe('https://api.x.com/v1/charges');
    expect(buildUpstreamUrl('https://api.x.com', '/v1/charges').href).toBe('https://api.x.com/v1/charges');
    expect(buildUpstreamUrl('http://127.0.0.1:4010/mock', '/x').href).toBe('http://127.0.0.1:4010/mock/x');
  });

  it('appends query values, repeating array values, and keeps the base query', () => {
    const url = buildUpstreamUrl('https://api.x.com/v1?api-version=2024', '/search', {
      q: 'a b&c=d',
      limit: 10,
      expand: ['data.customer', 'data.invoice'],
      live: false,
    });
    expect(url.origin).toBe('https://api.x.com');
    expect(url.pathname).toBe('/v1/search');
    expect(url.searchParams.get('api-version')).toBe('2024');
    expect(url.searchParams.get('q')).toBe('a b&c=d');
    expect(url.searchParams.get('limit')).toBe('10');
    expect(url.searchParams.getAll('expand')).toEqual(['data.customer', 'data.invoice']);
    expect(url.searchParams.get('live')).toBe('false');
    expect(url.searchParams.has('c')).toBe(false);
  });

  it('drops the base fragment and never lets the endpoint change the origin', () => {
    const url = buildUpstreamUrl('https://api.x.com/v1#frag', '/a:b/c');
    expect(url.href).toBe('https://api.x.com/v1/a:b/c');
  });

  it('rejects base URLs that are not http(s)', () => {
    expect(rejection(() => buildUpstreamUrl('ftp://x.example/', '/a')).reason).toMatch(/http or https/);
    expect(rejection(() => buildUpstreamUrl('not a url', '/a')).reason).toMatch(/invalid base URL/);
  });
});

describe('isPrivateAddress', () => {
  it.each([
    '127.0.0.1', '127.255.255.254', '10.1.2.3', '172.16.0.1', '172.31.255.255', '192.168.1.1',
    '169.254.169.254', '169.254.0.1', '100.64.0.1', '100.127.255.255', '0.0.0.0', '0.1.2.3',
    '255.255.255.255', '224.0.0.1', '240.0.0.1', '192.0.2.1',
    '::1', '::', 'fe80::1', 'fe80::1%eth0', 'fd00::1', 'fc00::1', 'ff02::1', 'fec0::1',
    '::ffff:127.0.0.1', '::ffff:7f00:1', '::ffff:169.254.169.254', '::ffff:10.0.0.1', '::ffff:0:127.0.0.1',
    '64:ff9b::a9fe:a9fe', '64:ff9b:1::1', '2002:7f00:1::', '2002:a00:1::1', '::7f00:1', '2001:db8::1',
    '2130706433', '0x7f.0.0.1', '127.1',
    'not-an-ip', '', '999.1.1.1',
  ])('%s is private or reserved', (ip) => {
    expect(isPrivateAddress(ip)).toBe(true);
  });

  it.each([
    '8.8.8.8', '1.1.1.1', '172.32.0.1', '100.128.0.1', '169.255.0.1', '93.184.216.34',
    '2606:4700:4700::1111', '2001:4860:4860::8888', '::ffff:8.8.8.8', '64:ff9b::808:808', '2002:808:808::1',
  ])('%s is public', (ip) => {
    expect(isPrivateAddress(ip)).toBe(false);
  });
});

describe('assertPublicHost', () => {
  const resolvesTo = (...addresses: string[]) => jest.fn(async () => addresses);

  it('accepts a host that resolves only to public addresses', async () => {
    const lookup = resolvesTo('93.184.216.34', '2606:2800:220:1:248:1893:25c8:1946');
    await expect(assertPublicHost('https://api.example.com/v1', lookup)).resolves.toBeUndefined();
    expect(lookup).toHaveBeenCalledWith('api.example.com');
  });

  it('rejects when any resolved address is private', async () => {
    const lookup = resolvesTo('93.184.216.34', '10.0.0.5');
    await expect(assertPublicHost('https://mixed.example.com', lookup)).rejects.toMatchObject({
      reason: 'host resolves to a private or reserved address',
    });
  });

  it('rejects the cloud metadata endpoint behind a friendly name', async () => {
    await expect(
      assertPublicHost('http://metadata.google.internal/', resolvesTo('169.254.169.254')),
    ).rejects.toBeInstanceOf(EndpointRejected);
  });

  it('checks IP literals without a lookup', async () => {
    const lookup = resolvesTo('8.8.8.8');
    await expect(assertPublicHost('http://127.0.0.1:8080/', lookup)).rejects.toBeInstanceOf(EndpointRejected);
    await expect(assertPublicHost('http://[::1]/', lookup)).rejects.toBeInstanceOf(EndpointRejected);
    await expect(assertPublicHost('http://[::ffff:169.254.169.254]/', lookup)).rejects.toBeInstanceOf(EndpointRejected);
    await expect(assertPublicHost('http://0x7f.1/', lookup)).rejects.toBeInstanceOf(EndpointRejected);
    await expect(assertPublicHost('https://8.8.8.8/', lookup)).resolves.toBeUndefined();
    expect(lookup).not.toHaveBeenCalled();
  });

  it('rejects hosts that do not resolve or resolve to nothing', async () => {
    const failing = jest.fn(async () => {
      throw new Error('ENOTFOUND');
    });
    await expect(assertPublicHost('https://nope.invalid', failing)).rejects.toMatchObject({ reason: 'host does not resolve' });
    await expect(assertPublicHost('https://empty.example', resolvesTo())).rejects.toMatchObject({
      reason: 'host does not resolve',
    });
  });

  it('rejects a non-http base URL before resolving', async () => {
    const lookup = resolvesTo('8.8.8.8');
    await expect(assertPublicHost('file:///etc/passwd', lookup)).rejects.toBeInstanceOf(EndpointRejected);
    expect(lookup).not.toHaveBeenCalled();
  });

  it('uses the system resolver by default (localhost is private)', async () => {
    await expect(assertPublicHost('http://localhost:9/')).rejects.toBeInstanceOf(EndpointRejected);
  });
});
