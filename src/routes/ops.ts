import fs from 'node:fs';
import path from 'node:path';
import Router from '@koa/router';
import type { Deps } from '../deps';
import type { AppState } from '../http/context';
import type { OpenApiRegistry } from '../http/openapi';
import { readiness } from '../store/readiness';
import { AppError } from '../http/errors';
import { VERSION } from '../version';
import { metricsAuthorized } from '../metrics/server';


const SWAGGER_FILES = new Set(['swagger-ui.css', 'swagger-ui-bundle.js', 'swagger-ui-standalone-preset.js', 'favicon-32x32.png']);
const DOCS_HTML = `<!doctype html><html><head><meta charset="utf-8"><title>Keywallet API</title>
<link rel="stylesheet" href="/docs/swagger-ui.css"></head><body><div id="swagger-ui"></div>
<script src="/docs/swagger-ui-bundle.js"></script><script src="/docs/init.js"></script></body></html>`;
const DOCS_INIT = `window.ui = SwaggerUIBundle({ url: '/openapi.json', dom_id: '#swagger-ui' });`;

/** Health, readiness, metrics and API docs: no gateway key or JWT (metrics optionally behind METRICS_TOKEN). */
export function opsRouter(deps: Deps, openapi: OpenApiRegistry): Router<AppState> {
  const router = new Router<AppState>();
  router.get('/health', (ctx) => {
    ctx.body = { status: 'ok', version: VERSION };
  });
  router.get('/ready', async (ctx) => {
    const { ok, checks } = await readiness(deps);
    ctx.status = ok ? 200 : 503;
    ctx.body = { status: ok ? 'ready' : 'not_ready', checks };
  });
  router.get('/metrics', async (ctx) => {
    // with METRICS_PORT, metrics are served on that listener only (metrics/server.ts)
    if (deps.config.metricsListener) throw new AppError('not_found', 'Not found');
    if (!metricsAuthorized(ctx.get('authorization'), deps.config.metricsToken)) {
      throw new AppError('unauthorized', 'Metrics require METRICS_TOKEN as a bearer token');
    }
    ctx.type = deps.metrics.registry.contentType;
    ctx.body = await deps.metrics.scrape(); // every worker's, aggregated, when WORKERS > 1
  });
  let cachedDoc: Record<string, unknown> | null = null;
  router.get('/openapi.json', (ctx) => {
    ctx.body = cachedDoc ??= openapi.document(VERSION);
  });
  const swaggerDir = path.dirname(require.resolve('swagger-ui-dist/package.json'));
  router.get('/docs', (ctx) => {
    ctx.type = 'html';
    ctx.body = DOCS_HTML;
  });
  router.get('/docs/init.js', (ctx) => {
    ctx.type = 'application/javascript';
    ctx.body = DOCS_INIT;
  });
  router.get('/docs/:file', (ctx) => {
    const file = ctx.params.file;
    if (!SWAGGER_FILES.has(file)) throw new AppError('not_found', 'Not found');
    ctx.type = path.extname(file);
    ctx.set('cache-control', 'public, max-age=86400');
    ctx.body = fs.createReadStream(path.join(swaggerDir, file));
  });
  return router;
}
