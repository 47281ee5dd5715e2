import Koa from 'koa';
import type Router from '@koa/router';
import cors from '@koa/cors';
import helmet from 'koa-helmet';
import type { Deps } from './deps';
import type { AppContext, AppState } from './http/context';
import { errorHandler } from './http/error-handler';
import { installClientIp } from './http/client-ip';
import { requestContext } from './http/request-context';
import { OpenApiRegistry } from './http/openapi';
import { Api, Guards, MANAGEMENT_BODY } from './http/api';
import type { BodyPolicy } from './http/body';
import { compose } from './http/compose';
import { fastLane, FastRoutes } from './http/fast-routes';
import { jwtGuard, permissionGuard } from './auth/guards';
import { opsRouter } from './routes/ops';
import { consoleStatic } from './http/console-static';
import { mountRoutes } from './routes';

/**
 * How a route's body is read (http/body.ts), by its path: /v1 takes JSON up to MAX_REQUEST_BODY_MB (base64 images),
 * as sent and once decompressed; everything else, /proxy's envelope included, 1 MB of JSON, form or text.
 * Routes read their body themselves, after authentication (http/api.ts); the raw pass-through streams it instead.
 */
function bodyPolicyFor(config: Deps['config']): (path: string) => BodyPolicy {
  const llm: BodyPolicy = { limits: { wire: config.maxRequestBodyBytes, decoded: config.maxRequestBodyBytes }, types: ['json'] };
  return (path) => (path.startsWith('/v1/') ? llm : MANAGEMENT_BODY);
}

const PLAIN_TEXT = /^text\/plain\s*(?=;|$)/i;

/**
 * /v1 request bodies are JSON when they are not labelled otherwise, as OpenAI's API reads them: a missing content
 * type, or text/plain (what fetch gives a string body), is read as JSON (its parameters, a charset, are kept).
 */
const v1BodiesAreJson: Koa.Middleware = (ctx, next) => {
  if (ctx.method === 'POST' && ctx.path.startsWith('/v1/')) {
    const headers = ctx.req.headers;
    const type = headers['content-type'];
    if (type === undefined) headers['content-type'] = 'application/json';
    else if (PLAIN_TEXT.test(type)) headers['content-type'] = type.replace(PLAIN_TEXT, 'application/json');
  }
  return next();
};

/** The first path segments a router's routes start with (lower case); null when a route starts with a parameter. */
function firstSegments(router: Router<AppState>): Set<string> | null {
  const segments = new Set<string>();
  for (const layer of router.stack) {
    const match = typeof layer.path === 'string' ? /^\/([A-Za-z0-9._~-]+)(?:\/|$)/.exec(layer.path) : null;
    if (!match) return null;
    segments.add(match[1].toLowerCase());
  }
  return segments;
}

function segmentOf(path: string): string {
  const end = path.indexOf('/', 1);
  return (end === -1 ? path.slice(1) : path.slice(1, end)).toLowerCase();
}

/**
 * The resource routers, in order, each with its allowedMethods — but a request only walks the routers that
 * have a route under its first path segment (a /v1 call no longer runs every management router's matcher).
 * The ops router, mounted before and always walked, still answers 405 and 501 for everything, as before.
 */
function dispatchBySegment(routers: Router<AppState>[]): Koa.Middleware {
  const mounted = routers.map((router) => ({
    segments: firstSegments(router),
    middleware: compose([router.routes() as Koa.Middleware, router.allowedMethods({ throw: false }) as Koa.Middleware]),
  }));
  const chainFor = (segment: string | null) =>
    compose(mounted.filter((m) => m.segments === null || (segment !== null && m.segments.has(segment))).map((m) => m.middleware));
  const chains = new Map<string, Koa.Middleware>();
  for (const m of mounted) for (const segment of m.segments ?? []) if (!chains.has(segment)) chains.set(segment, chainFor(segment));
  const others = chainFor(null);
  return (ctx, next) => (chains.get(segmentOf(ctx.path)) ?? others)(ctx, next);
}

/**
 * helmet's headers, worked out once: with these options (no per-request CSP directives) every response gets
 * the same set, so they are recorded from one run of koa-helmet and replayed, instead of running its dozen
 * middlewares per request. Falls back to koa-helmet itself if nothing was recorded.
 */
function securityHeaders(): Koa.Middleware {
  const middleware = helmet({ crossOriginResourcePolicy: false });
  const set: [string, string | number | readonly string[]][] = [];
  const removed: string[] = [];
  const recorder = {
    setHeader: (name: string, value: string | number | readonly string[]) => set.push([name, value]),
    removeHeader: (name: string) => removed.push(name),
  };
  // helmet sets its headers synchronously (options are validated when it is built); it calls next later.
  Promise.resolve(middleware({ req: {}, res: recorder } as unknown as Koa.Context, async () => {})).catch(() => {});
  if (set.length === 0) return middleware;
  return (ctx, next) => {
    const res = ctx.res;
    for (const [name, value] of set) res.setHeader(name, value);
    for (const name of removed) res.removeHeader(name);
    return next();
  };
}

/** Builds the Koa app from injected dependencies. Does no I/O, so tests build apps on their own stores. */
export function buildApp(deps: Deps, extra: { gatewayGuard?: Koa.Middleware } = {}): Koa<AppState> {
  // proxy: X-Forwarded-Proto/-Host are believed behind a trusted proxy; the client IP has one resolver of its own
  const app = new Koa<AppState>({ proxy: Boolean(deps.config.trustProxy) });
  installClientIp(app, deps.config.trustProxy);
  const openapi = new OpenApiRegistry();
  const guards: Guards = {
    jwt: jwtGuard(deps.db, deps.config.jwt, deps.consoleSessions),
    jwtPendingPasswordChange: jwtGuard(deps.db, deps.config.jwt, deps.consoleSessions, { allowPendingPasswordChange: true }),
    gateway: extra.gatewayGuard ?? deps.keys.guard,
    permission: permissionGuard,
  };
  const recordHttp = (ctx: AppContext, ms: number) => {
    const route = (ctx as unknown as { _matchedRoute?: string })._matchedRoute ?? 'unmatched';
    deps.metrics.httpRequests.labels(route, ctx.method, String(ctx.status)).inc();
    deps.metrics.httpDuration.labels(route, ctx.method).observe(ms / 1000);
  };

  // A client hanging up mid-stream is routine for a streaming gateway, not an application error.
  app.on('error', (err: { code?: string }) => {
    if (err?.code === 'ERR_STREAM_PREMATURE_CLOSE' || err?.code === 'ECONNRESET' || err?.code === 'EPIPE') {
      deps.logger.debug({ code: err.code }, 'client closed the connection');
    } else {
      deps.logger.error({ err }, 'response error');
    }
  });
  app.use(requestContext(deps.logger, recordHttp));
  app.use(errorHandler(deps.logger));
  app.use(securityHeaders());
  const corsOrigin = (ctx: Koa.Context) => {
    const allowed = deps.config.corsOrigins;
    const origin = ctx.get('origin');
    return allowed === '*' || allowed.includes(origin) ? origin || '*' : '';
  };
  const corsMiddleware = cors({
    origin: corsOrigin,
    exposeHeaders: ['x-request-id', 'x-keywallet-model', 'x-keywallet-provider-key', 'x-keywallet-attempts', 'x-keywallet-route', 'retry-after'],
    allowHeaders: ['authorization', 'content-type', 'x-api-key', 'api-key', 'anthropic-version', 'anthropic-beta', 'x-service-hint', 'x-request-id'],
  });
  // the hot /v1 and /proxy routes (`fast: true`) are served past cors → routers (http/fast-routes.ts)
  const fast = new FastRoutes();
  app.use(v1BodiesAreJson);
  app.use(fastLane(fast, { middleware: corsMiddleware, origin: corsOrigin }));
  // the web console's files (/console, and / → there): past the fast lane, before CORS (same origin only)
  app.use(consoleStatic());
  app.use(corsMiddleware);

  const ops = opsRouter(deps, openapi);
  app.use(ops.routes()).use(ops.allowedMethods());
  const bodyPolicy = bodyPolicyFor(deps.config);
  const routers = mountRoutes(deps, (tag) => new Api(openapi, guards, tag, fast, bodyPolicy));
  app.use(dispatchBySegment(routers));
  fast.verify([ops, ...routers]);
  return app;
}
