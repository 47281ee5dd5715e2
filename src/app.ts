import Koa from 'koa';
import cors from '@koa/cors';
import helmet from 'koa-helmet';
import { bodyParser } from '@koa/bodyparser';
import type { Deps } from './deps';
import type { AppContext, AppState } from './http/context';
import { errorHandler } from './http/error-handler';
import { requestContext } from './http/request-context';
import { OpenApiRegistry } from './http/openapi';
import { Api, Guards } from './http/api';
import { jwtGuard, permissionGuard } from './auth/guards';
import { opsRouter } from './routes/ops';
import { mountRoutes } from './routes';

function bodyParsers(): Koa.Middleware {
  const llm = bodyParser({ enableTypes: ['json'], jsonLimit: '50mb', encoding: 'utf-8' });
  const rest = bodyParser({ enableTypes: ['json', 'form', 'text'], jsonLimit: '1mb', formLimit: '1mb', textLimit: '1mb' });
  return (ctx, next) => {
    if (ctx.path.startsWith('/v1/')) return llm(ctx, next);
    // raw pass-through streams the client body to the upstream untouched
    if (/^\/proxy\/[^/]+/.test(ctx.path)) return next();
    return rest(ctx, next);
  };
}

/** Builds the Koa app from injected dependencies. Does no I/O, so tests build apps on their own stores. */
export function buildApp(deps: Deps, extra: { gatewayGuard?: Koa.Middleware } = {}): Koa<AppState> {
  const app = new Koa<AppState>({ proxy: deps.config.trustProxy });
  const openapi = new OpenApiRegistry();
  const guards: Guards = {
    jwt: jwtGuard(deps.db, deps.config.jwt),
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
  app.use(helmet({ crossOriginResourcePolicy: false }));
  app.use(
    cors({
      origin: (ctx) => {
        const allowed = deps.config.corsOrigins;
        const origin = ctx.get('origin');
        return allowed === '*' || allowed.includes(origin) ? origin || '*' : '';
      },
      exposeHeaders: ['x-request-id', 'x-keywallet-model', 'x-keywallet-provider-key', 'x-keywallet-attempts', 'x-keywallet-route', 'retry-after'],
      allowHeaders: ['authorization', 'content-type', 'x-api-key', 'api-key', 'anthropic-version', 'anthropic-beta', 'x-service-hint', 'x-request-id'],
    }),
  );
  app.use(bodyParsers());

  const ops = opsRouter(deps, openapi);
  app.use(ops.routes()).use(ops.allowedMethods());
  for (const router of mountRoutes(deps, (tag) => new Api(openapi, guards, tag))) {
    app.use(router.routes()).use(router.allowedMethods({ throw: false }));
  }
  return app;
}
