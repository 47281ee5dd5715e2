import type Router from '@koa/router';
import type Koa from 'koa';
import type { AppState } from './context';
import { compose } from './compose';

type Layer = Router<AppState>['stack'][number];

/** A route the fast lane runs itself: its chain as registered. */
export interface FastRoute {
  readonly path: string;
  readonly chain: Koa.Middleware;
  readonly router: Router<AppState>;
  readonly layer: Layer;
}

const PARAMETERISED = /[:*{}()?]/;

/**
 * Routes with a fixed path that opt in (`fast: true`), keyed by method and exact path, so that the hot
 * gateway routes skip CORS/router middleware that would do nothing more for them (see fastLane).
 */
export class FastRoutes {
  private readonly byMethod = new Map<string, Map<string, FastRoute>>();

  /** Records the route just registered on `router` (its last layer). */
  add(router: Router<AppState>, method: string, path: string, middleware: Koa.Middleware[]): void {
    if (PARAMETERISED.test(path)) throw new Error(`fast route ${path}: only fixed paths can be fast`);
    const upper = method.toUpperCase();
    let routes = this.byMethod.get(upper);
    if (!routes) this.byMethod.set(upper, (routes = new Map()));
    if (routes.has(path)) throw new Error(`fast route ${upper} ${path} registered twice`);
    routes.set(path, {
      path,
      chain: compose(middleware),
      router,
      layer: router.stack[router.stack.length - 1],
    });
  }

  /**
   * Keeps a route only if the routers, walked in the app's order, would dispatch that request to its layer
   * alone: no earlier router or router middleware matches it. Called once the app has mounted every router.
   */
  verify(routers: Router<AppState>[]): void {
    for (const [method, routes] of this.byMethod) {
      for (const [path, route] of routes) {
        const first = routers.find((router) => router.match(path, method).pathAndMethod.length > 0);
        const layers = first?.match(path, method).pathAndMethod ?? [];
        if (first !== route.router || first.host !== undefined || layers.length !== 1 || layers[0] !== route.layer) routes.delete(path);
      }
    }
  }

  get(method: string, path: string): FastRoute | undefined {
    return this.byMethod.get(method)?.get(path);
  }
}

/** The CORS middleware the app uses, and the origin function it was built with. */
export interface Cors {
  middleware: Koa.Middleware;
  origin: (ctx: Koa.Context) => string;
}

const done = () => Promise.resolve();

function run(ctx: Koa.Context, route: FastRoute): Promise<void> {
  (ctx as unknown as { _matchedRoute: string })._matchedRoute = route.path;
  // a route's handler ends the chain: nothing after it would run for a matched route
  return route.chain(ctx, done) as Promise<void>;
}

/**
 * The fast lane: a request for a fast route (exact method and path) is answered here, doing what cors → the
 * routers would do for it (the route's chain reads its body itself, after authentication: http/api.ts); any
 * other request, including OPTIONS, HEAD, a trailing slash or other letter case, goes on to them.
 * Mounted after requestContext, errorHandler and securityHeaders, in front of the CORS middleware.
 */
export function fastLane(routes: FastRoutes, cors: Cors): Koa.Middleware {
  return (ctx, next) => {
    const route = routes.get(ctx.method, ctx.path);
    if (route === undefined) return next();
    // @koa/cors does nothing but Vary when its origin function gives nothing
    if (cors.origin(ctx)) return cors.middleware(ctx, () => run(ctx, route));
    const res = ctx.res;
    if (res.hasHeader('vary')) ctx.vary('Origin');
    else res.setHeader('Vary', 'Origin');
    return run(ctx, route);
  };
}
