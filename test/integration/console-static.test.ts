import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import http from 'node:http';
import zlib from 'node:zlib';
import Koa from 'koa';
import type { AddressInfo } from 'node:net';
import { consoleStatic, CONSOLE_CSP } from '../../src/http/console-static';

/** The console's file serving, on a build of its own (the real build is exercised by the browser tests). */
describe('console static files', () => {
  let dir: string;
  let server: http.Server;
  let url: string;
  let built = true;
  const js = 'console.log("the console");'.repeat(100);

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kw-console-'));
    fs.mkdirSync(path.join(dir, 'assets'));
    fs.writeFileSync(path.join(dir, 'index.html'), '<!doctype html><script type="module" src="/console/assets/index-abc123.js"></script>');
    fs.writeFileSync(path.join(dir, 'assets/index-abc123.js'), js);
    const app = new Koa();
    app.use(consoleStatic(() => (built ? dir : null)));
    app.use((ctx) => {
      ctx.status = 404;
      ctx.body = 'api 404';
    });
    server = http.createServer(app.callback());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => {
    server.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('sends / to /console/', async () => {
    const res = await fetch(`${url}/`, { redirect: 'manual' });
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toBe('/console/');
  });

  it('answers every client-side route with index.html, revalidated on each load, under a strict CSP', async () => {
    for (const p of ['/console', '/console/', '/console/wallet', '/console/keys/abc?x=1']) {
      const res = await fetch(url + p);
      expect([p, res.status]).toEqual([p, 200]);
      expect(res.headers.get('content-type')).toMatch(/^text\/html/);
      expect(res.headers.get('cache-control')).toBe('no-cache');
      expect(res.headers.get('content-security-policy')).toBe(CONSOLE_CSP);
      expect(await res.text()).toContain('/console/assets/index-abc123.js');
    }
    expect(CONSOLE_CSP).toContain("script-src 'self'");
    expect(CONSOLE_CSP).not.toContain('unsafe-inline');
    expect(CONSOLE_CSP).not.toContain('unsafe-eval');
  });

  it('serves fingerprinted assets for a year, gzipped when asked, with an ETag that revalidates', async () => {
    const res = await fetch(`${url}/console/assets/index-abc123.js`, { headers: { 'accept-encoding': 'gzip' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(res.headers.get('content-type')).toMatch(/^text\/javascript/);
    expect(await res.text()).toBe(js); // fetch decodes the gzip
    const raw = await new Promise<{ encoding?: string; body: Buffer }>((resolve) =>
      http.get(`${url}/console/assets/index-abc123.js`, { headers: { 'accept-encoding': 'gzip' } }, (r) => {
        const chunks: Buffer[] = [];
        r.on('data', (c) => chunks.push(c)).on('end', () => resolve({ encoding: r.headers['content-encoding'], body: Buffer.concat(chunks) }));
      }),
    );
    expect(raw.encoding).toBe('gzip');
    expect(zlib.gunzipSync(raw.body).toString()).toBe(js);
    // (not fetch: it adds `cache-control: no-cache` to a conditional request, which forbids a 304)
    const again = await new Promise<number>((resolve) =>
      http.get(`${url}/console/assets/index-abc123.js`, { headers: { 'if-none-match': res.headers.get('etag')! } }, (r) => {
        r.resume();
        resolve(r.statusCode!);
      }),
    );
    expect(again).toBe(304);
  });

  it('leaves a missing asset, other paths and other methods to the rest of the app', async () => {
    expect((await fetch(`${url}/console/assets/missing-123.js`)).status).toBe(404);
    expect(await (await fetch(`${url}/v1/models`)).text()).toBe('api 404');
    expect(await (await fetch(`${url}/consoles`)).text()).toBe('api 404');
    expect((await fetch(`${url}/console/wallet`, { method: 'POST' })).status).toBe(404);
  });

  it('says how to build the console when it is not built', async () => {
    built = false;
    const other = new Koa().use(consoleStatic(() => null));
    const s = http.createServer(other.callback());
    await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
    const res = await fetch(`http://127.0.0.1:${(s.address() as AddressInfo).port}/console/`);
    s.close();
    expect(res.status).toBe(503);
    expect(await res.text()).toContain('npm run build:web');
  });
});
