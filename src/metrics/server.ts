import http from 'node:http';
import crypto from 'node:crypto';

/** What the listener serves: a prom-client Registry, or the cluster primary's aggregate of every worker (src/cluster/). */
export interface MetricsSource {
  readonly contentType: string;
  metrics(): Promise<string>;
}

/** Whether an Authorization header carries the metrics token (constant-time); no token configured = open. */
export function metricsAuthorized(authorization: string | undefined, token: string | undefined): boolean {
  if (!token) return true;
  const given = Buffer.from((authorization ?? '').replace(/^Bearer\s+/i, ''));
  const want = Buffer.from(token);
  return given.length === want.length && crypto.timingSafeEqual(given, want);
}

/**
 * METRICS_PORT: /metrics on a listener of its own (METRICS_HOST, default 127.0.0.1), away from the public port,
 * so a scraper on a private network needs no token. It serves GET /metrics and nothing else.
 */
export async function startMetricsListener(
  registry: MetricsSource,
  opts: { host: string; port: number; token?: string },
): Promise<{ server: http.Server; url: string; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0];
    if (req.method !== 'GET' || path !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    if (!metricsAuthorized(req.headers.authorization, opts.token)) {
      res.writeHead(401, { 'content-type': 'text/plain' }).end('metrics require METRICS_TOKEN as a bearer token\n');
      return;
    }
    registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
      () => res.writeHead(500, { 'content-type': 'text/plain' }).end('metrics unavailable\n'),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as { port: number };
  return {
    server,
    url: `http://${opts.host.includes(':') ? `[${opts.host}]` : opts.host}:${port}/metrics`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
