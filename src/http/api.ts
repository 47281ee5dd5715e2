import Router from '@koa/router';
import type Koa from 'koa';
import { z } from 'zod';
import type { Permission } from '../auth/permissions';
import type { AppContext, AppState } from './context';
import { BodyPolicy, parseRequestBody } from './body';
import type { FastRoutes } from './fast-routes';
import type { OpenApiRegistry } from './openapi';
import { assertSafeBody, assertSafeStrings, parseInput } from './validate';

export interface Guards {
  /** JWT or console session cookie → ctx.state.user (401 otherwise; 403 while a password change is pending) */
  jwt: Koa.Middleware;
  /** the same, but open to a user who must still change their password */
  jwtPendingPasswordChange: Koa.Middleware;
  /** gateway key → ctx.state.principal (401 otherwise) */
  gateway: Koa.Middleware;
  permission(p: Permission): Koa.Middleware;
}

type Infer<S> = S extends z.ZodType ? z.output<S> : undefined;

export interface RouteDef<B, Q, P> {
  method: 'get' | 'post' | 'put' | 'patch' | 'delete';
  path: string;
  summary: string;
  auth: 'none' | 'jwt' | 'gateway';
  permission?: Permission;
  /** open to a user whose password change is pending (the session, password and profile routes) */
  allowPendingPasswordChange?: boolean;
  /** runs before authentication (e.g. a login rate limit) */
  before?: Koa.Middleware[];
  body?: B;
  /**
   * A cheap check for hot routes: true only for a body the `body` schema would accept and return unchanged
   * (no defaults, no transforms). Then the body is used as it came and the schema is not run; otherwise the
   * schema runs as usual and produces the error (or the transformed value).
   */
  bodyAccepts?: (body: unknown) => boolean;
  query?: Q;
  params?: P;
  response?: z.ZodType;
  status?: number;
  /**
   * Input refusals after authentication (body too large or malformed, invalid body, query or parameters) go
   * through this: a gateway route counts and records them like any call (gateway/call.ts), then rethrows.
   */
  refused?: (ctx: AppContext, err: unknown) => Promise<never>;
  /**
   * Served by the app's fast lane too (http/fast-routes.ts), past the generic CORS, body-parser and router
   * middleware: for the hot /v1 and /proxy routes. Only a fixed path (no parameters) can be fast.
   */
  fast?: boolean;
}

export type Handler<B, Q, P> = (ctx: AppContext, input: Input<B, Q, P>) => unknown | Promise<unknown>;

const BODY_METHODS = new Set(['post', 'put', 'patch']);

/** Management bodies: 1 MB as sent and once decompressed; JSON, forms and text (dotenv imports). */
export const MANAGEMENT_BODY: BodyPolicy = { limits: { wire: 1024 * 1024, decoded: 1024 * 1024 }, types: ['json', 'form', 'text'] };

type Input<B, Q, P> = {
  body: Infer<B>;
  query: Infer<Q>;
  params: Infer<P>;
  /**
   * The JSON body's bytes as the client sent them, when `bodyAccepts` took the body as it came (the schema would
   * have returned it unchanged): a route that does not change the body can forward these instead of re-serialising.
   */
  rawBody?: Buffer;
};

/**
 * The route's input, read and checked in order: the body (only now, after authentication: an unauthenticated
 * caller's upload is never read), its nesting depth and NUL characters, then the schemas. On a gateway route a
 * NUL inside a prompt is the provider's business: there the schemas refuse it only where the gateway uses the
 * value itself (the model name, the proxy envelope's fields).
 */
async function readInput<B extends z.ZodType | undefined, Q extends z.ZodType | undefined, P extends z.ZodType | undefined>(
  ctx: AppContext,
  def: RouteDef<B, Q, P>,
  bodyPolicy: BodyPolicy | null,
): Promise<Input<B, Q, P>> {
  const refuseNul = def.auth !== 'gateway';
  let body: unknown;
  let rawBody: Buffer | undefined;
  if (def.body) {
    if (bodyPolicy) await parseRequestBody(ctx, bodyPolicy);
    const raw = (ctx.request as { body?: unknown }).body ?? {};
    assertSafeBody(raw, refuseNul);
    if (def.bodyAccepts?.(raw)) {
      body = raw;
      rawBody = (ctx.request as { rawBody?: Buffer }).rawBody;
    } else {
      body = parseInput(def.body, raw, 'body');
    }
  }
  // every route's path parameters and the query of any that reads one: handlers may use them without a schema
  const params = (ctx as unknown as { params?: Record<string, string> }).params;
  assertSafeStrings(params, 'params');
  if (def.query || refuseNul) assertSafeStrings(ctx.query, 'query');
  return {
    body: body as Infer<B>,
    query: (def.query ? parseInput(def.query, ctx.query, 'query') : undefined) as Infer<Q>,
    params: (def.params ? parseInput(def.params, params, 'params') : undefined) as Infer<P>,
    rawBody,
  };
}

/**
 * A route states its chain in order — before (limits) → authenticate → permission → validate → handler —
 * and documents itself in the OpenAPI registry from the same zod schemas that validate it.
 */
export class Api {
  readonly router = new Router<AppState>();

  constructor(
    private readonly openapi: OpenApiRegistry,
    private readonly guards: Guards,
    private readonly tag: string,
    private readonly fast?: FastRoutes,
    /** how the body of a route with this path is read */
    private readonly bodyPolicy: (path: string) => BodyPolicy = () => MANAGEMENT_BODY,
  ) {}

  route<B extends z.ZodType | undefined = undefined, Q extends z.ZodType | undefined = undefined, P extends z.ZodType | undefined = undefined>(
    def: RouteDef<B, Q, P>,
    handler: Handler<B, Q, P>,
  ): this {
    this.openapi.add({
      method: def.method,
      path: def.path,
      summary: def.summary,
      tag: this.tag,
      auth: def.auth,
      body: def.body,
      query: def.query,
      response: def.response,
    });
    if (def.auth === 'gateway' && (def.body || def.query || def.params) && !def.refused) {
      // every /v1 and /proxy request leaves a usage event, the ones refused for their input included
      throw new Error(`gateway route ${def.method.toUpperCase()} ${def.path} takes input: say how its refusals are recorded (refused)`);
    }
    const chain: Koa.Middleware[] = [...(def.before ?? [])];
    if (def.auth === 'jwt') chain.push(def.allowPendingPasswordChange ? this.guards.jwtPendingPasswordChange : this.guards.jwt);
    if (def.auth === 'gateway') chain.push(this.guards.gateway);
    if (def.permission) chain.push(this.guards.permission(def.permission));
    const bodyPolicy = def.body && BODY_METHODS.has(def.method) ? this.bodyPolicy(def.path) : null;
    chain.push(async (ctx: AppContext) => {
      let input: Input<B, Q, P>;
      try {
        input = await readInput(ctx, def, bodyPolicy);
      } catch (err) {
        if (def.refused) return def.refused(ctx, err);
        throw err;
      }
      const result = await handler(ctx, input);
      if (result !== undefined) {
        ctx.status = def.status ?? 200;
        ctx.body = result;
      } else if (ctx.body === undefined && ctx.status === 404) {
        ctx.status = 204;
      }
    });
    (this.router as unknown as Record<string, (path: string, ...mw: Koa.Middleware[]) => void>)[def.method](def.path, ...chain);
    if (def.fast) this.fast?.add(this.router, def.method, def.path, chain);
    return this;
  }
}
