import http from 'node:http';
import crypto from 'node:crypto';
import zlib from 'node:zlib';
import { TEST_BACKEND } from '../helpers/backend';
import { startTestGateway, type TestGateway } from '../helpers/gateway';
import { createUserWithKey } from '../helpers/keys';
import { startLlmEnv, type LlmTestEnv } from '../helpers/llm';
import { chatBodyOfSize, uploadUntilAnswered } from '../helpers/upload';
import { generateGatewayKey } from '../../src/keys/key-format';

/**
 * Issue 14.1: /v1 and /proxy read and parsed bodies of up to 50 MB, gzip included, before the gateway key was
 * checked — six parallel 44 KB gzip bodies took the RSS from 950 MB to 1.4 GB, all answered 401. Now a route
 * reads its body only after authentication, within a wire limit, a decompressed limit (MAX_REQUEST_BODY_MB)
 * and a compression ratio no real client sends.
 */

const MB = 1024 * 1024;

/** A raw request with a body sent whole. */
function post(url: string, headers: Record<string, string | number>, body: Buffer): Promise<{ status: number; headers: http.IncomingHttpHeaders; json: any }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'POST', headers: { ...headers, 'content-length': body.length }, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        let json: unknown = null;
        try {
          json = JSON.parse(text);
        } catch {
          /* not JSON */
        }
        resolve({ status: res.statusCode!, headers: res.headers, json });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** A chat body whose one message decompresses to `size` bytes of one repeated character: ~1000× in gzip. */
function gzipBomb(size: number): Buffer {
  const raw = Buffer.alloc(size, 'a');
  raw.write('{"model":"gpt-4o","messages":[{"role":"user","content":"', 0);
  raw.write('"}]}', size - 4);
  return zlib.gzipSync(raw, { level: 9 });
}

describe(`(14.1) request bodies are read only after authentication, within wire, decompressed and ratio limits (${TEST_BACKEND})`, () => {
  let env: LlmTestEnv;

  beforeAll(async () => {
    env = await startLlmEnv();
  });
  afterAll(() => env.close());

  const total = 32 * MB; // under the 50 MB limit: only the credential can stop it early

  it.each([
    ['no credential, the fast lane', '/v1/chat/completions', {}],
    ['an unknown key, the generic stack (trailing slash)', '/v1/chat/completions/', { authorization: `Bearer ${generateGatewayKey('live')}` }],
    ['a malformed key on /v1/messages', '/v1/messages', { 'x-api-key': 'kw_live_nope' }],
    ['an unknown key on /proxy', '/proxy', { authorization: `Bearer ${generateGatewayKey('live')}` }],
    ['no credential, gzip', '/v1/chat/completions', { 'content-encoding': 'gzip' }],
  ])('%s: 401 before the client has finished sending, and the connection closes', async (_what, path, credential) => {
    const res = await uploadUntilAnswered(env.gw.url + path, { 'content-type': 'application/json', ...credential }, total, chatBodyOfSize(total));
    expect(res.status).toBe(401);
    expect(res.sent).toBeLessThan(total / 2);
    expect(res.headers.connection).toBe('close');
  });

  it('six parallel 44 KB gzip bombs: 413 after a few MB decompressed each, recorded, nothing sent upstream, the RSS flat', async () => {
    const bomb = gzipBomb(45 * MB);
    expect(bomb.length).toBeLessThan(64 * 1024);
    const headers = { authorization: `Bearer ${env.key}`, 'content-type': 'application/json', 'content-encoding': 'gzip' };
    const rssBefore = process.memoryUsage().rss;
    let rssPeak = rssBefore;
    const answers = await Promise.all(
      Array.from({ length: 6 }, () =>
        post(env.gw.url + '/v1/chat/completions', headers, bomb).then((res) => {
          rssPeak = Math.max(rssPeak, process.memoryUsage().rss);
          return res;
        }),
      ),
    );
    for (const res of answers) {
      expect(res.status).toBe(413);
      expect(res.json.error).toMatchObject({ code: 'payload_too_large', type: 'invalid_request_error', message: expect.stringContaining('decompresses to more than 100 times') });
      expect(await env.usageOf(res.headers['x-request-id'] as string)).toMatchObject({ surface: 'chat', status: 413, error_code: 'payload_too_large' });
    }
    expect(env.openai.requests).toHaveLength(0);
    // each refused bomb held at most ~4.5 MB (100 × its 44 KB); reading them whole took ~6 × 135 MB
    expect(rssPeak - rssBefore).toBeLessThan(64 * MB);
  });

  it('an ordinary gzip body is still served', async () => {
    const body = zlib.gzipSync(JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'Say hello' }] }));
    const res = await post(env.gw.url + '/v1/chat/completions', { authorization: `Bearer ${env.key}`, 'content-type': 'application/json', 'content-encoding': 'gzip' }, body);
    expect(res.status).toBe(200);
    expect(res.json.choices[0].message.content).toBe('mock-openai reply to: Say hello');
  });
});

describe(`(14.1) MAX_REQUEST_BODY_MB caps /v1 bodies as sent and once decompressed; management bodies 1 MB (${TEST_BACKEND})`, () => {
  let gw: TestGateway;
  let key: string;

  beforeAll(async () => {
    gw = await startTestGateway({ env: { MAX_REQUEST_BODY_MB: '1' } });
    key = (await createUserWithKey(gw)).key;
  });
  afterAll(() => gw.close());

  /** A chat body carrying a base64 "image" of `bytes` random bytes: hardly compressible, as real images are. */
  const imageBody = (bytes: number) =>
    Buffer.from(
      JSON.stringify({
        model: 'gpt-4o',
        messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: `data:image/png;base64,${crypto.randomBytes(bytes).toString('base64')}` } }] }],
      }),
    );
  const json = () => ({ authorization: `Bearer ${key}`, 'content-type': 'application/json' });

  it('a body over the limit is refused, as sent or once decompressed; one under it is read', async () => {
    const big = imageBody(900 * 1024); // ~1.2 MB of base64
    const plain = await post(gw.url + '/v1/chat/completions', json(), big);
    expect(plain.status).toBe(413);
    const gzipped = zlib.gzipSync(big);
    expect(gzipped.length).toBeLessThan(MB);
    const decompressed = await post(gw.url + '/v1/chat/completions', { ...json(), 'content-encoding': 'gzip' }, gzipped);
    expect(decompressed.status).toBe(413);
    expect(decompressed.json.error).toMatchObject({ code: 'payload_too_large', message: 'Request body is too large once decompressed' });

    const fits = await post(gw.url + '/v1/chat/completions', { ...json(), 'content-encoding': 'gzip' }, zlib.gzipSync(imageBody(600 * 1024)));
    expect(fits.status).not.toBe(413);
  });

  it('a management body decompressing past 1 MB is refused (413, management shape)', async () => {
    const body = zlib.gzipSync(JSON.stringify({ email: 'a@b.c', password: 'x'.repeat(2 * MB) }));
    const res = await post(gw.url + '/auth/login', { 'content-type': 'application/json', 'content-encoding': 'gzip' }, body);
    expect(res.status).toBe(413);
    expect(res.json.error).toMatchObject({ code: 'payload_too_large', requestId: expect.any(String) });
  });
});
