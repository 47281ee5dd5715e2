import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { TEST_BACKEND } from '../helpers/backend';
import { startTestGateway, TestGateway } from '../helpers/gateway';
import { addEntry, createService, developerKey, rawRequest, uniqueSlug } from '../helpers/routing';
import { findLeaks } from '../helpers/secret-scan';
import { REST_STREAM_PIECES, startRestMock, MockUpstream } from '../mocks';

describe(`generic proxy (${TEST_BACKEND})`, () => {
  let gw: TestGateway;
  let mock: MockUpstream;
  let admin: string;
  let key: string;
  let slug: string;
  let entry: { id: string; secret: string };
  const secrets: string[] = [];
  const texts: string[] = [];

  const bearer = () => ({ authorization: `Bearer ${key}` });
  async function envelope(body: unknown, headers: Record<string, string> = bearer()) {
    const res = await gw.request('/proxy', { method: 'POST', body, headers });
    texts.push(res.text, JSON.stringify([...res.headers]));
    return res;
  }
  async function raw(path: string, init: { method?: string; headers?: Record<string, string>; body?: string } = {}) {
    const res = await gw.request(path, { method: init.method, headers: { ...bearer(), ...init.headers }, body: init.body });
    texts.push(res.text, JSON.stringify([...res.headers]));
    return res;
  }
  /** A service with one entry, its credential injected the given way. */
  async function serviceWith(auth: { type: 'bearer' | 'header' | 'query' | 'basic'; name?: string }) {
    const s = uniqueSlug('auth');
    await createService(gw, admin, { slug: s, baseUrl: mock.url, auth });
    const e = await addEntry(gw, admin, { service: s });
    secrets.push(e.secret);
    return { slug: s, entry: e };
  }

  beforeAll(async () => {
    gw = await startTestGateway();
    mock = await startRestMock();
    admin = (await gw.user('admin')).token;
    key = await developerKey(gw);
    slug = uniqueSlug('proxy');
    await createService(gw, admin, { slug, baseUrl: `${mock.url}/base`, costPerCall: 0.001 });
    entry = await addEntry(gw, admin, { service: slug });
    secrets.push(entry.secret);
  }, 60_000);
  afterAll(async () => {
    await gw.close();
    await mock.close();
  });
  beforeEach(() => mock.reset());

  it('POST /proxy forwards the envelope under the base URL with the provider credential', async () => {
    const res = await envelope({
      service: slug,
      endpoint: '/v1/customers',
      method: 'post',
      query: { limit: 3, expand: ['a', 'b'] },
      headers: { 'x-custom': 'yes', authorization: 'Bearer client-chosen', cookie: 'sid=1' },
      body: { name: 'Ada' },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-keywallet-provider-key')).toBe(entry.id);
    expect(res.headers.get('x-keywallet-attempts')).toBe('1');
    expect(res.headers.get('x-request-id')).toBeTruthy();
    expect(mock.requests).toHaveLength(1);
    const seen = mock.requests[0];
    // the mock records the last value of a repeated parameter
    expect(seen).toMatchObject({ method: 'POST', path: '/base/v1/customers', query: { limit: '3', expand: 'b' }, body: { name: 'Ada' } });
    expect(seen.credential).toBe(entry.secret);
    expect(seen.headers['x-custom']).toBe('yes');
    expect(seen.headers.authorization).toBe(`Bearer ${entry.secret}`);
    expect(seen.headers.cookie).toBeUndefined();
    expect(seen.headers['content-type']).toBe('application/json');
  });

  it('the service may come from X-Service-Hint, or from the only REST service the key allows', async () => {
    const hinted = await envelope({ endpoint: '/hint', method: 'GET' }, { ...bearer(), 'x-service-hint': slug });
    expect(hinted.status).toBe(200);
    expect(mock.requests[0].path).toBe('/base/hint');

    const missing = await envelope({ endpoint: '/x' });
    expect(missing.status).toBe(400);
    expect(missing.body.error).toMatchObject({ code: 'invalid_request', param: 'service' });

    const restricted = await developerKey(gw, { services: [slug] });
    const detected = await envelope({ endpoint: '/only' }, { authorization: `Bearer ${restricted}` });
    expect(detected.status).toBe(200);
    expect(mock.requests.map((r) => r.path)).toEqual(['/base/hint', '/base/only']);
  });

  it('form-encodes an object body when the caller asks for a form (Stripe-style)', async () => {
    const res = await envelope({
      service: slug,
      endpoint: '/v1/charges',
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: { amount: 2000, metadata: { order: 'A1' } },
    });
    expect(res.status).toBe(200);
    expect(mock.requests[0].body).toBe('amount=2000&metadata%5Border%5D=A1');
  });

  it('validates the envelope', async () => {
    for (const body of [{}, { service: slug }, { service: slug, endpoint: '/x', method: 'TRACE' }, { service: slug, endpoint: '/x', headers: { 'bad name': 'v' } }, { service: slug, endpoint: '/x', extra: 1 }]) {
      const res = await envelope(body);
      expect(res.status).toBe(400);
      expect(res.body.error.type).toBe('invalid_request_error');
    }
    expect(mock.requests).toHaveLength(0);
  });

  it('raw pass-through: method, path, query and body go up; the client credentials do not', async () => {
    const res = await raw(`/proxy/${slug}/v1/items/42?expand=x&expand=y`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json', 'x-api-key': key, cookie: 'sid=2', 'x-trace': 't1', 'x-forwarded-for': '10.1.1.1' },
      body: JSON.stringify({ qty: 2 }),
    });
    expect(res.status).toBe(200);
    const seen = mock.requests[0];
    expect(seen).toMatchObject({ method: 'PUT', path: '/base/v1/items/42', body: { qty: 2 } });
    expect(res.body).toMatchObject({ method: 'PUT', path: '/base/v1/items/42' });
    expect(seen.headers['x-trace']).toBe('t1');
    for (const name of ['x-api-key', 'cookie', 'x-forwarded-for', 'api-key']) expect(seen.headers[name]).toBeUndefined();
    const everything = JSON.stringify(seen);
    expect(everything).not.toContain(key);
    expect(everything).not.toContain('kw_live_');
  });

  it('raw pass-through streams a large request body up and a streamed answer back', async () => {
    const big = 'x'.repeat(3 * 1024 * 1024);
    const up = await raw(`/proxy/${slug}/upload`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: big });
    expect(up.status).toBe(200);
    expect(mock.requests[0].body).toHaveLength(big.length);

    // the mock streams at /stream, so this needs a service whose base URL is the mock's root
    const root = uniqueSlug('root');
    await createService(gw, admin, { slug: root, baseUrl: mock.url });
    secrets.push((await addEntry(gw, admin, { service: root })).secret);
    const streamed = await raw(`/proxy/${root}/stream`);
    expect(streamed.status).toBe(200);
    expect(streamed.text).toBe(REST_STREAM_PIECES.join(''));
    expect(streamed.headers.get('content-type')).toContain('text/plain');
  });

  it('streams the answer as it comes: the client reads the first part before the upstream has finished', async () => {
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    const upstream = http.createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('first part;');
      void released.then(() => res.end('second part'));
    });
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
    try {
      const s = uniqueSlug('slow');
      await createService(gw, admin, { slug: s, baseUrl: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}` });
      secrets.push((await addEntry(gw, admin, { service: s })).secret);
      const res = await fetch(`${gw.url}/proxy/${s}/x`, { headers: bearer() });
      const reader = res.body!.getReader();
      const first = await reader.read();
      expect(Buffer.from(first.value!).toString()).toBe('first part;');
      release();
      let rest = '';
      for (let r = await reader.read(); !r.done; r = await reader.read()) rest += Buffer.from(r.value).toString();
      expect(rest).toBe('second part');
    } finally {
      release();
      upstream.closeAllConnections();
      await new Promise((r) => upstream.close(r));
    }
  });

  it.each([
    [{ type: 'bearer' as const }, (s: string, h: Record<string, unknown>) => expect(h.authorization).toBe(`Bearer ${s}`)],
    [{ type: 'header' as const, name: 'x-goog-api-key' }, (s: string, h: Record<string, unknown>) => expect(h['x-goog-api-key']).toBe(s)],
    [{ type: 'basic' as const }, (s: string, h: Record<string, unknown>) => expect(h.authorization).toBe(`Basic ${Buffer.from(`${s}:`).toString('base64')}`)],
  ])('injects the credential the service way: %j', async (auth, check) => {
    const { slug: s, entry: e } = await serviceWith(auth);
    // a client-sent value for the credential header never wins
    const res = await raw(`/proxy/${s}/thing`, { headers: { 'x-goog-api-key': 'client-value' } });
    expect(res.status).toBe(200);
    expect(mock.requests).toHaveLength(1);
    check(e.secret, mock.requests[0].headers);
  });

  it('injects a query credential and ignores one the client sent', async () => {
    const { slug: s, entry: e } = await serviceWith({ type: 'query', name: 'appid' });
    const res = await raw(`/proxy/${s}/data/2.5/weather?q=Paris&appid=client-value`);
    expect(res.status).toBe(200);
    expect(mock.requests[0].query).toEqual({ q: 'Paris', appid: e.secret });
  });

  it('the provider secret never comes back: echoed bodies are scrubbed, credential headers dropped', async () => {
    const res = await raw(`/proxy/${slug}/echo`);
    expect(res.status).toBe(200);
    expect(res.text).not.toContain(entry.secret);
    expect(res.body.headers.authorization).toBe('Bearer [redacted]');

    mock.fail({ kind: 'headers', headers: { 'set-cookie': 'upstream=1', 'x-api-key': entry.secret, 'x-echo': `k=${entry.secret}`, 'x-kept': 'yes' } }, { times: 1 });
    const withHeaders = await raw(`/proxy/${slug}/headers`);
    expect(withHeaders.headers.get('set-cookie')).toBeNull();
    expect(withHeaders.headers.get('x-api-key')).toBeNull();
    expect(withHeaders.headers.get('x-echo')).toBeNull();
    expect(withHeaders.headers.get('x-kept')).toBe('yes');
  });

  it('an upstream error status passes through in its own shape; gateway errors use the OpenAI shape', async () => {
    mock.fail({ kind: 'status', status: 422, body: { error: { message: 'bad param' } } }, { times: 1 });
    const upstream = await raw(`/proxy/${slug}/bad`);
    expect(upstream.status).toBe(422);
    expect(upstream.body).toEqual({ error: { message: 'bad param' } });

    const unknown = await raw('/proxy/no-such-service/x');
    expect(unknown.status).toBe(404);
    expect(unknown.body.error).toMatchObject({ code: 'not_found', type: 'not_found_error', param: 'service' });
  });

  it('needs a gateway key with the proxy scope and an allowed service', async () => {
    const none = await gw.request(`/proxy/${slug}/x`);
    expect(none.status).toBe(401);
    expect(none.body.error).toMatchObject({ type: 'authentication_error' });
    const noEnvelope = await gw.request('/proxy', { method: 'POST', body: { service: slug, endpoint: '/x' } });
    expect(noEnvelope.status).toBe(401);

    const chatOnly = await developerKey(gw, { scopes: ['chat'] });
    const scoped = await gw.request(`/proxy/${slug}/x`, { headers: { authorization: `Bearer ${chatOnly}` } });
    expect(scoped.status).toBe(403);
    expect(scoped.body.error.message).toContain("'proxy' scope");

    const otherService = await developerKey(gw, { services: ['stripe'] });
    const barred = await gw.request('/proxy', { method: 'POST', body: { service: slug, endpoint: '/x' }, headers: { authorization: `Bearer ${otherService}` } });
    expect(barred.status).toBe(403);
    expect(mock.requests).toHaveLength(0);
  });

  it('records one usage event per proxied call, charged the service cost per call', async () => {
    const res = await raw(`/proxy/${slug}/billed`);
    expect(res.status).toBe(200);
    const requestId = res.headers.get('x-request-id')!;
    await gw.deps.usage.flush();
    const rows = await gw.deps.db('usage_events').where({ request_id: requestId });
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ surface: 'proxy', service: slug, wallet_entry_id: entry.id, status: 200, attempts: 1 });
    expect(Number(rows[0].cost_micros)).toBe(1000);
  });

  it('no secret appears in any response or log line', () => {
    const leaks = findLeaks(secrets, { responses: texts.join('\n'), logs: gw.logs.join('\n') });
    expect(leaks).toEqual([]);
    expect(gw.logs.join('\n')).not.toContain(key);
  });

  it('HEAD and 204 answers come back without a body', async () => {
    const head = await rawRequest(gw.url, `/proxy/${slug}/v1/thing`, { method: 'HEAD', headers: bearer() });
    expect(head.status).toBe(200);
    expect(head.text).toBe('');
    expect(mock.requests[0].method).toBe('HEAD');
    mock.fail({ kind: 'status', status: 204, body: '' }, { times: 1 });
    const empty = await raw(`/proxy/${slug}/v1/thing`, { method: 'DELETE' });
    expect(empty.status).toBe(204);
    expect(empty.text).toBe('');
    expect(empty.headers.get('x-keywallet-provider-key')).toBe(entry.id);
  });

  it('a raw request line is forwarded as sent when it is safe', async () => {
    const res = await rawRequest(gw.url, `/proxy/${slug}/v1/a%20b/c?x=1`, { headers: bearer() });
    expect(res.status).toBe(200);
    expect(mock.requests[0].path).toBe('/base/v1/a%20b/c');
  });
});
