import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { envelopeBody, envelopeSchema, envelopeService } from '../../src/proxy/envelope';
import { forward, UpstreamAgents } from '../../src/proxy/forward';
import { AttemptSignal } from '../../src/routing/attempt-signal';
import type { GatewayPrincipal } from '../../src/keys/principal';
import type { Service } from '../../src/services/service';

describe('forward: classifying upstream answers', () => {
  let server: http.Server;
  let base: string;
  /** requests to /slow are never answered; each one's closing connection is recorded here */
  const slowClosed: string[] = [];
  const agents = new UpstreamAgents();
  const service = { slug: 's', auth: { type: 'bearer' as const }, allowPrivate: true };

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      if (req.url === '/slow') {
        res.on('close', () => slowClosed.push(req.url!));
        return;
      }
      const status = Number(new URL(req.url!, 'http://x').searchParams.get('status') ?? 200);
      const headers: Record<string, string> = { 'content-type': 'application/json', connection: 'keep-alive', 'x-ratelimit-remaining-requests': '0' };
      if (status === 429) headers['retry-after'] = '2';
      res.writeHead(status, headers).end(JSON.stringify({ status }));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await agents.close();
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  const send = (status: number, signal: AttemptSignal | AbortSignal = new AttemptSignal()) =>
    forward(agents, { service, secret: 'sekrit', url: new URL(`${base}/x?status=${status}`), method: 'GET', headers: {}, body: null, signal }, Date.now());

  it.each([
    [200, 'ok'],
    [404, 'ok'],
    [422, 'ok'],
    [401, 'ok'],
    [403, 'ok'],
    [429, 'retry'],
    [500, 'retry'],
    [502, 'retry'],
    [503, 'retry'],
    [504, 'retry'],
    [529, 'retry'],
  ])('%d → %s', async (status, kind) => {
    const outcome = await send(status);
    expect(outcome.kind).toBe(kind);
    if (outcome.kind === 'ok') {
      expect(outcome.value.status).toBe(status);
      expect(outcome.value.headers.connection).toBeUndefined();
      expect(outcome.headers?.['x-ratelimit-remaining-requests']).toBe('0');
      outcome.value.body.resume();
    }
  });

  it('a 401/403 is the answer, marked as a credential suspect (the caller decides; nothing is invalidated here)', async () => {
    for (const status of [401, 403]) {
      const outcome = await send(status);
      expect(outcome).toMatchObject({ kind: 'ok', status, credentialSuspect: true });
      if (outcome.kind === 'ok') outcome.value.body.resume();
    }
    const fine = await send(404);
    expect(fine.kind === 'ok' && fine.credentialSuspect).toBeFalsy();
    if (fine.kind === 'ok') fine.value.body.resume();
  });

  it('a 429 carries its Retry-After; 529 is "overloaded"', async () => {
    expect(await send(429)).toMatchObject({ kind: 'retry', reason: 'rate_limited', status: 429, retryAfterMs: 2000 });
    expect(await send(529)).toMatchObject({ kind: 'retry', reason: 'overloaded', status: 529 });
  });

  it("the router's attempt signal ends a request in flight: the upstream connection closes, the outcome is a timeout", async () => {
    const signal = new AttemptSignal();
    const pending = forward(agents, { service, secret: 'sekrit', url: new URL(`${base}/slow`), method: 'GET', headers: {}, body: null, signal }, Date.now());
    await new Promise((r) => setTimeout(r, 50));
    expect(slowClosed).toEqual([]);
    signal.abort(new Error('attempt timed out'));
    expect(await pending).toMatchObject({ kind: 'retry', reason: 'timeout' });
    for (let i = 0; i < 50 && slowClosed.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(slowClosed).toEqual(['/slow']);
    expect(signal.listenerCount('abort')).toBe(0); // undici let go of it
  });

  it('an attempt signal aborts once: a second abort keeps the first reason and emits nothing', () => {
    const signal = new AttemptSignal();
    const heard: unknown[] = [];
    signal.on('abort', () => heard.push(signal.reason));
    signal.abort('timeout');
    signal.abort('stopped');
    expect(signal.aborted).toBe(true);
    expect(heard).toEqual(['timeout']);
  });

  it('an aborted request is a timeout; a refused connection is a connection error', async () => {
    const controller = new AbortController();
    controller.abort();
    expect(await send(200, controller.signal)).toMatchObject({ kind: 'retry', reason: 'timeout' });
    const closed = http.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((r) => closed.close(r));
    const outcome = await forward(
      agents,
      { service, secret: 's', url: new URL(`http://127.0.0.1:${port}/`), method: 'GET', headers: {}, body: null, signal: new AbortController().signal },
      Date.now(),
    );
    expect(outcome).toMatchObject({ kind: 'retry', reason: 'connection_error' });
  });

  it('refuses a private literal address for a public-only service before connecting', async () => {
    const publicOnly = { ...service, allowPrivate: false };
    await expect(
      forward(agents, { service: publicOnly, secret: 's', url: new URL(`${base}/x`), method: 'GET', headers: {}, body: null, signal: new AbortController().signal }, Date.now()),
    ).rejects.toMatchObject({ code: 'EPRIVATEADDR' });
  });
});

describe('envelope', () => {
  const principal = { services: null, plan: { services: null } } as unknown as GatewayPrincipal;
  const svc = (slug: string, kind: 'rest' | 'llm' = 'rest', enabled = true) => ({ slug, kind, enabled }) as Service;
  const parse = (v: unknown) => envelopeSchema.parse(v);

  it('takes the service from the body, then the hint, then the only REST service allowed', () => {
    const services = [svc('stripe'), svc('openweather'), svc('openai', 'llm')];
    expect(envelopeService(parse({ service: 'stripe', endpoint: '/x' }), 'openweather', principal, services)).toBe('stripe');
    expect(envelopeService(parse({ endpoint: '/x' }), 'OpenWeather', principal, services)).toBe('openweather');
    expect(() => envelopeService(parse({ endpoint: '/x' }), '', principal, services)).toThrow(/Name the upstream service/);
    const onlyStripe = { services: ['stripe', 'openai'], plan: { services: null } } as unknown as GatewayPrincipal;
    expect(envelopeService(parse({ endpoint: '/x' }), '', onlyStripe, services)).toBe('stripe');
  });

  it('defaults the method to GET and upper-cases it', () => {
    expect(parse({ endpoint: '/x' }).method).toBe('GET');
    expect(parse({ endpoint: '/x', method: 'patch' }).method).toBe('PATCH');
    expect(() => parse({ endpoint: '/x', method: 'CONNECT' })).toThrow();
    expect(() => parse({ endpoint: '/x', headers: { 'x-a': 'line\r\nbreak' } })).toThrow();
  });

  it('encodes bodies: JSON by default, text as is, forms on request, nothing for GET', () => {
    expect(envelopeBody(parse({ endpoint: '/x', method: 'POST', body: { a: [1, 2] } }))).toEqual({ body: Buffer.from('{"a":[1,2]}'), contentType: 'application/json' });
    expect(envelopeBody(parse({ endpoint: '/x', method: 'POST', body: 'plain' }))).toEqual({ body: Buffer.from('plain'), contentType: 'text/plain; charset=utf-8' });
    const form = envelopeBody(parse({ endpoint: '/x', method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: { a: 1, items: [{ price: 'p1' }] } }));
    expect(form.body!.toString()).toBe('a=1&items%5B0%5D%5Bprice%5D=p1');
    expect(envelopeBody(parse({ endpoint: '/x', method: 'GET', body: { a: 1 } }))).toEqual({ body: null, contentType: null });
  });
});
