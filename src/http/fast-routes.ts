import type { IncomingMessage } from 'node:http';
import type Router from '@koa/router';
import type Koa from 'koa';
import type { AppState } from './context';
import { compose } from './compose';

type Layer = Router<AppState>['stack'][number];

/** A route the fast lane runs itself: its chain as registered, and how its body is read. */
export interface FastRoute {
  readonly path: string;
  readonly chain: Koa.Middleware;
  /** the JSON body limit in bytes when the body parser would read this route's body; null when it would not */
  readonly bodyLimit: number | null;
  readonly router: Router<AppState>;
  readonly layer: Layer;
}

/** @koa/bodyparser reads bodies of these methods only. */
const PARSED_METHODS = new Set(['POST', 'PUT', 'PATCH']);
const PARAMETERISED = /[:*{}()?]/;

/**
 * Routes with a fixed path that opt in (`fast: true`), keyed by method and exact path, so that the hot
 * gateway routes skip CORS/body-parser/router middleware that would do nothing more for them (see fastLane).
 */
export class FastRoutes {
  private readonly byMethod = new Map<string, Map<string, FastRoute>>();

  /** @param jsonLimit the JSON body limit the app's body parser applies to a path, null where it reads none */
  constructor(private readonly jsonLimit: (path: string) => number | null) {}

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
      bodyLimit: PARSED_METHODS.has(upper) ? this.jsonLimit(path) : null,
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

// Only the plain forms; anything else (other JSON types, charsets, encodings) goes through @koa/bodyparser.
const JSON_TYPE = /^application\/json(?:; ?charset=utf-8)?$/i;

function leanReadable(req: IncomingMessage): boolean {
  const type = req.headers['content-type'];
  const encoding = req.headers['content-encoding'];
  return type !== undefined && JSON_TYPE.test(type) && (encoding === undefined || encoding === 'identity') && !req.closed;
}

/** Errors shaped like raw-body's and co-body's, which the error handler maps the same way. */
function bodyError(status: number, message: string, type: string): Error {
  return Object.assign(new Error(message), { status, expose: true, type });
}

/** raw-body's reading: Content-Length checked up front, the limit while reading, the stream paused on failure. */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const header = req.headers['content-length'];
  const length = header ? Number(header) : null;
  if (length !== null && length > limit) {
    req.pause();
    return Promise.reject(bodyError(413, 'request entity too large', 'entity.too.large'));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let received = 0;
    const cleanup = () => {
      req.removeListener('data', onData);
      req.removeListener('end', onEnd);
      req.removeListener('error', onError);
      req.removeListener('aborted', onAborted);
      req.removeListener('close', onAborted);
    };
    const fail = (err: Error) => {
      cleanup();
      req.pause();
      reject(err);
    };
    const onData = (chunk: Buffer) => {
      received += chunk.length;
      if (received > limit) fail(bodyError(413, 'request entity too large', 'entity.too.large'));
      else chunks.push(chunk);
    };
    const onEnd = () => {
      cleanup();
      if (length !== null && received !== length) reject(bodyError(400, 'request size did not match content length', 'request.size.invalid'));
      else resolve(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, received));
    };
    const onError = (err: Error) => fail(err);
    const onAborted = () => fail(bodyError(400, 'request aborted', 'request.aborted'));
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('aborted', onAborted);
    req.on('close', onAborted);
  });
}

// @hapi/bourne's test (what co-body parses with): a "__proto__" key, possibly escaped, is refused.
const PROTO_KEY = /"(?:_|\\u005[Ff])(?:_|\\u005[Ff])(?:p|\\u0070)(?:r|\\u0072)(?:o|\\u006[Ff])(?:t|\\u0074)(?:o|\\u006[Ff])(?:_|\\u005[Ff])(?:_|\\u005[Ff])"\s*:/;

function hasProtoKey(value: object): boolean {
  let next: object[] = [value];
  while (next.length) {
    const nodes = next;
    next = [];
    for (const node of nodes) {
      if (Object.prototype.hasOwnProperty.call(node, '__proto__')) return true;
      for (const key in node) {
        const child = (node as Record<string, unknown>)[key];
        if (child && typeof child === 'object') next.push(child);
      }
    }
  }
  return false;
}

/** co-body's strict JSON: empty → {}, only an object or array, no __proto__ keys; the text is utf-8 without BOM. */
function parseJson(buf: Buffer): { parsed: unknown; raw: string } {
  let raw = buf.toString('utf8');
  if (raw.charCodeAt(0) === 0xfeff) raw = raw.slice(1);
  if (raw === '') return { parsed: {}, raw };
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw bodyError(400, 'invalid JSON', 'entity.parse.failed');
  }
  const malformed =
    parsed === null ||
    typeof parsed !== 'object' ||
    ((raw.includes('__') || raw.includes('\\u005')) && PROTO_KEY.test(raw) && hasProtoKey(parsed));
  if (malformed) throw bodyError(400, 'invalid JSON, only supports object and array', 'entity.parse.failed');
  return { parsed, raw };
}

const done = () => Promise.resolve();

async function run(ctx: Koa.Context, route: FastRoute): Promise<void> {
  if (route.bodyLimit !== null) {
    const { parsed, raw } = parseJson(await readBody(ctx.req, route.bodyLimit));
    ctx.request.body = parsed;
    ctx.request.rawBody = raw;
  }
  (ctx as unknown as { _matchedRoute: string })._matchedRoute = route.path;
  // a route's handler ends the chain: nothing after it would run for a matched route
  await route.chain(ctx, done);
}

/**
 * The fast lane: a request for a fast route (exact method and path) whose body, if any, is plain JSON is
 * answered here, doing what cors → bodyParsers → the routers would do for it; any other request, including
 * OPTIONS, HEAD, a trailing slash, other letter case or another content type or encoding, goes on to them.
 * Mounted after requestContext, errorHandler and securityHeaders, in front of the CORS middleware.
 */
export function fastLane(routes: FastRoutes, cors: Cors): Koa.Middleware {
  return (ctx, next) => {
    const route = routes.get(ctx.method, ctx.path);
    if (route === undefined || (route.bodyLimit !== null && !leanReadable(ctx.req))) return next();
    // @koa/cors does nothing but Vary when its origin function gives nothing
    if (cors.origin(ctx)) return cors.middleware(ctx, () => run(ctx, route));
    const res = ctx.res;
    if (res.hasHeader('vary')) ctx.vary('Origin');
    else res.setHeader('Vary', 'Origin');
    return run(ctx, route);
  };
}
