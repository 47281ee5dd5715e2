/**
 * The floor: the least a Node gateway must do for each request, and nothing more. A node:http server that
 * forwards every request to UPSTREAM_URL through an undici Pool (keep-alive), swaps the client's credential
 * for FLOOR_UPSTREAM_KEY, drops hop-by-hop headers both ways and pipes both bodies as bytes.
 * Keywallet's cost is read against this process measured in the same run. Forked by bench/run.ts.
 */
import http from 'node:http';
import { Pool } from 'undici';

const upstream = process.env.UPSTREAM_URL;
const upstreamKey = process.env.FLOOR_UPSTREAM_KEY ?? 'sk-floor';
if (!upstream) throw new Error('UPSTREAM_URL is required');

const pool = new Pool(upstream, { connections: 256, pipelining: 1, keepAliveTimeout: 60_000 });

const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'host',
]);

function forwardable(headers: http.IncomingHttpHeaders | Record<string, string | string[] | undefined>): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined && !HOP_BY_HOP.has(name)) out[name] = value;
  }
  return out;
}

const server = http.createServer((req, res) => {
  const headers = forwardable(req.headers);
  headers.authorization = `Bearer ${upstreamKey}`;
  const hasBody = req.method !== 'GET' && req.method !== 'HEAD';
  pool.request({ method: req.method as 'POST', path: req.url ?? '/', headers, body: hasBody ? req : undefined }).then(
    (upstreamRes) => {
      const out = forwardable(upstreamRes.headers);
      delete out.authorization;
      res.writeHead(upstreamRes.statusCode, out);
      // pipe, not stream.pipeline: on Node 20 pipeline builds an AbortController and a DOMException per call
      upstreamRes.body.on('error', () => res.destroy()).pipe(res);
    },
    () => {
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'application/json' });
      res.end('{"error":{"message":"upstream failed","type":"server_error","param":null,"code":null}}');
    },
  );
});
server.keepAliveTimeout = 65_000;

server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  process.send?.({ type: 'ready', port: typeof address === 'object' && address ? address.port : 0 });
});

process.on('disconnect', () => process.exit(0));
process.on('SIGTERM', () => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
});
