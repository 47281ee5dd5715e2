import Router from '@koa/router';
import type Koa from 'koa';
import { z } from 'zod';
import type { Permission } from '../auth/permissions';
import type { AppContext, AppState } from './context';
import type { FastRoutes } from './fast-routes';
import type { OpenApiRegistry } from './openapi';
import { parseInput } from './validate';

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
   * Served by the app's fast lane too (http/fast-routes.ts), past the generic CORS, body-parser and router
   * middleware: for the hot /v1 and /proxy routes. Only a fixed path (no parameters) can be fast.
   */
  fast?: boolean;
}

export type Handler<B, Q, P> = (
  ctx: AppContext,
  input: { body: Infer<B>; query: Infer<Q>; params: Infer<P> },
) => unknown | Promise<unknown>;

function parseBody<B extends z.ZodType>(def: { body?: B; bodyAccepts?: (body: unknown) => boolean }, raw: unknown): unknown {
  if (def.bodyAccepts?.(raw)) return raw;
  return parseInput(def.body!, raw, 'body');
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
    const chain: Koa.Middleware[] = [...(def.before ?? [])];
    if (def.auth === 'jwt') chain.push(def.allowPendingPasswordChange ? this.guards.jwtPendingPasswordChange : this.guards.jwt);
    if (def.auth === 'gateway') chain.push(this.guards.gateway);
    if (def.permission) chain.push(this.guards.permission(def.permission));
    chain.push(async (ctx: AppContext) => {
      const input = {
        body: (def.body ? parseBody(def, (ctx.request as { body?: unknown }).body ?? {}) : undefined) as Infer<B>,
        query: (def.query ? parseInput(def.query, ctx.query, 'query') : undefined) as Infer<Q>,
        params: (def.params ? parseInput(def.params, (ctx as unknown as { params: unknown }).params, 'params') : undefined) as Infer<P>,
      };
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
