import { Readable } from 'node:stream';
import { clientResponseHeaders, injectCredential, stripCredentialQuery, upstreamRequestHeaders } from '../../src/proxy/headers';
import { secretScrubber, spoolBody } from '../../src/proxy/streams';

describe('upstreamRequestHeaders', () => {
  const client = {
    authorization: 'Bearer kw_live_secret',
    'x-api-key': 'kw_live_secret',
    'api-key': 'kw_live_secret',
    cookie: 'session=1',
    'proxy-authorization': 'Basic abc',
    'proxy-connection': 'keep-alive',
    connection: 'keep-alive, x-custom-hop',
    'x-custom-hop': 'drop me',
    'keep-alive': 'timeout=5',
    'transfer-encoding': 'chunked',
    te: 'trailers',
    trailer: 'x',
    upgrade: 'websocket',
    host: 'gateway.local',
    'x-forwarded-for': '10.0.0.1',
    'x-service-hint': 'stripe',
    'x-keywallet-anything': '1',
    'content-length': '12',
    'accept-encoding': 'gzip',
    origin: 'https://app.example',
    'content-type': 'application/json',
    'stripe-version': '2024-06-20',
    accept: 'application/json',
  };

  it('drops client credentials, hop-by-hop and connection-describing headers, keeps the rest', () => {
    expect(upstreamRequestHeaders(client, { type: 'bearer' })).toEqual({
      'content-type': 'application/json',
      'stripe-version': '2024-06-20',
      accept: 'application/json',
    });
  });

  it('never lets the client set the header the credential goes in', () => {
    const out = upstreamRequestHeaders({ 'X-Goog-Api-Key': 'mine', accept: '*/*' }, { type: 'header', name: 'x-goog-api-key' });
    expect(out).toEqual({ accept: '*/*' });
  });
});

describe('injectCredential', () => {
  const url = () => new URL('https://api.example.com/v1/x?a=1');
  it.each([
    [{ type: 'bearer' as const }, { authorization: 'Bearer s3cret' }, 'a=1'],
    [{ type: 'basic' as const }, { authorization: `Basic ${Buffer.from('s3cret:').toString('base64')}` }, 'a=1'],
    [{ type: 'header' as const, name: 'X-Api-Key' }, { 'x-api-key': 's3cret' }, 'a=1'],
    [{ type: 'query' as const, name: 'appid' }, {}, 'a=1&appid=s3cret'],
  ])('%j', (auth, headers, search) => {
    const h: Record<string, string> = {};
    const u = url();
    injectCredential(h, u, auth, 's3cret');
    expect(h).toEqual(headers);
    expect(u.search.slice(1)).toBe(search);
  });

  it('a client-supplied credential query parameter is removed before injection', () => {
    const u = new URL('https://api.example.com/data?q=x&appid=client-value');
    stripCredentialQuery(u, { type: 'query', name: 'appid' });
    expect(u.search).toBe('?q=x');
  });
});

describe('clientResponseHeaders', () => {
  it('drops hop-by-hop, cookies, credentials and anything echoing the secret', () => {
    const upstream = {
      'content-type': 'application/json',
      connection: 'close',
      'transfer-encoding': 'chunked',
      'keep-alive': 'timeout=5',
      'proxy-authenticate': 'Basic',
      'set-cookie': ['a=1', 'b=2'],
      'www-authenticate': 'Bearer',
      authorization: 'Bearer s3cret',
      'x-goog-api-key': 'whatever',
      'x-echo': 'key=s3cret',
      'content-length': '42',
      'x-request-id': 'upstream-id',
      'x-ratelimit-remaining-requests': '10',
      'request-id': 'req_1',
    };
    expect(clientResponseHeaders(upstream, { type: 'header', name: 'x-goog-api-key' }, 's3cret')).toEqual({
      'content-type': 'application/json',
      'x-ratelimit-remaining-requests': '10',
      'request-id': 'req_1',
    });
  });
});

async function collect(stream: Readable): Promise<string> {
  const parts: Buffer[] = [];
  for await (const p of stream) parts.push(p as Buffer);
  return Buffer.concat(parts).toString();
}

describe('secretScrubber', () => {
  it('replaces the secret, also when it is split across chunks', async () => {
    const secret = 'sk_live_ABCDEFGHIJ';
    const chunks = ['{"auth":"Bearer sk_li', 've_ABC', 'DEFGHIJ","again":"sk_live_ABCDEFGHIJsk_live_ABCDEFGHIJ","tail":"sk_live_ABC"}'];
    const out = await collect(Readable.from(chunks.map((c) => Buffer.from(c))).pipe(secretScrubber(secret)));
    expect(out).toBe('{"auth":"Bearer [redacted]","again":"[redacted][redacted]","tail":"sk_live_ABC"}');
  });

  it('holds back only a tail that could start the secret', async () => {
    const scrubber = secretScrubber('SECRET');
    const out: string[] = [];
    scrubber.on('data', (c: Buffer) => out.push(c.toString()));
    scrubber.write(Buffer.from('data: hello\n\n'));
    scrubber.write(Buffer.from('x SEC'));
    await new Promise((r) => setImmediate(r));
    expect(out).toEqual(['data: hello\n\n', 'x ']);
    scrubber.end(Buffer.from('RET y'));
    await new Promise((r) => scrubber.on('end', r));
    expect(out.join('')).toBe('data: hello\n\nx [redacted] y');
  });

  it('passes bytes through untouched when there is no match', async () => {
    const data = Buffer.from(Array.from({ length: 5000 }, (_, i) => i % 256));
    const parts: Buffer[] = [];
    for await (const p of Readable.from([data.subarray(0, 1234), data.subarray(1234)]).pipe(secretScrubber('zz-not-there'))) parts.push(p as Buffer);
    expect(Buffer.concat(parts).equals(data)).toBe(true);
  });
});

describe('spoolBody', () => {
  it('keeps a small body in memory (replayable)', async () => {
    const spooled = await spoolBody(Readable.from([Buffer.from('abc'), Buffer.from('def')]), 10);
    expect(spooled).toEqual({ replayable: true, data: Buffer.from('abcdef') });
  });

  it('an empty body is replayable and null', async () => {
    expect(await spoolBody(Readable.from([]), 10)).toEqual({ replayable: true, data: null });
  });

  it('hands a large body on as a stream with nothing lost', async () => {
    const pieces = Array.from({ length: 10 }, (_, i) => Buffer.from(`chunk-${i};`));
    const spooled = await spoolBody(Readable.from(pieces), 20);
    expect(spooled.replayable).toBe(false);
    if (spooled.replayable) return;
    expect(await collect(spooled.stream)).toBe(pieces.map(String).join(''));
  });
});
