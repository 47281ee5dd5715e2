import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import crypto from 'node:crypto';
import type Koa from 'koa';

/**
 * Serves the web console (built by `npm run build:web` into dist/console) at /console, and sends `/` there.
 * A few lines instead of a static-file package: the build is small, so it is read into memory once (with a
 * gzip copy of each text file) on the first console request. Fingerprinted assets are cached for a year;
 * index.html — which every client-side route answers with — is revalidated on every load. Every console
 * response carries a strict Content-Security-Policy: scripts and styles only from this origin, nothing inline.
 * Mounted after the /v1 fast lane: a gateway call never reaches it, other requests pay two string compares.
 */
export const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "manifest-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.txt': 'text/plain; charset=utf-8',
  '.woff2': 'font/woff2',
};

interface StaticFile {
  body: Buffer;
  gzip?: Buffer;
  type: string;
  etag: string;
}

/** Where the build is: dist/console next to dist/src when compiled, <repo>/dist/console when run by tsx. */
export function consoleBuildDir(): string | null {
  const candidates = [path.resolve(__dirname, '../../console'), path.resolve(__dirname, '../../dist/console')];
  return candidates.find((dir) => fs.existsSync(path.join(dir, 'index.html'))) ?? null;
}

function readBuild(dir: string): Map<string, StaticFile> {
  const files = new Map<string, StaticFile>();
  const walk = (sub: string) => {
    for (const entry of fs.readdirSync(path.join(dir, sub), { withFileTypes: true })) {
      const rel = sub ? `${sub}/${entry.name}` : entry.name;
      if (entry.isDirectory()) walk(rel);
      else {
        const body = fs.readFileSync(path.join(dir, rel));
        const type = TYPES[path.extname(entry.name)] ?? 'application/octet-stream';
        const compressible = /^(text\/|application\/json|image\/svg)/.test(type) && body.length > 1024;
        files.set(rel, {
          body,
          gzip: compressible ? zlib.gzipSync(body, { level: 9 }) : undefined,
          type,
          etag: `"${crypto.createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`,
        });
      }
    }
  };
  walk('');
  return files;
}

export function consoleStatic(dir: () => string | null = consoleBuildDir): Koa.Middleware {
  let files: Map<string, StaticFile> | null = null;
  return async (ctx, next) => {
    const p = ctx.path;
    if (p === '/' && (ctx.method === 'GET' || ctx.method === 'HEAD')) return ctx.redirect('/console/');
    if (p !== '/console' && !p.startsWith('/console/')) return next();
    if (ctx.method !== 'GET' && ctx.method !== 'HEAD') return next();
    if (!files) {
      const found = dir();
      if (!found) {
        ctx.status = 503;
        ctx.type = 'text/plain';
        ctx.body = 'The console is not built: run `npm run build:web` (npm ci does it).';
        return;
      }
      files = readBuild(found);
    }
    const rel = p.slice('/console/'.length);
    const asset = rel.startsWith('assets/');
    // a client-side route (/console/wallet, …) is the app's index.html; a missing asset is a plain 404
    const file = files.get(rel) ?? (asset ? undefined : files.get('index.html'));
    if (!file) return next();
    ctx.set('content-security-policy', CONSOLE_CSP);
    ctx.set('cache-control', asset ? 'public, max-age=31536000, immutable' : 'no-cache');
    ctx.vary('accept-encoding');
    ctx.type = file.type;
    ctx.etag = file.etag;
    ctx.status = 200; // ctx.fresh only compares validators on a 2xx
    if (ctx.fresh) {
      ctx.status = 304;
      return;
    }
    if (file.gzip && ctx.acceptsEncodings('gzip', 'identity') === 'gzip') {
      ctx.set('content-encoding', 'gzip');
      ctx.body = file.gzip;
    } else {
      ctx.body = file.body;
    }
  };
}
