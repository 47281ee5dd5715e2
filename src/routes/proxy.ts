import type Koa from 'koa';
import type { Deps } from '../deps';
import type { Api } from '../http/api';
import type { AppContext } from '../http/context';
import { AppError } from '../http/errors';
import { recordRefusal } from '../gateway/call';
import { envelopeBody, envelopeSchema, envelopeService, METHODS } from '../proxy/envelope';
import type { QueryParams } from '../proxy/endpoint-guard';
import { UpstreamAgents } from '../proxy/forward';
import { proxyCall, spoolRequest } from '../proxy/handler';

const RAW_PATH = /^\/proxy\/([a-z0-9][a-z0-9-]{1,40})(\/.*)?$/;

/** The raw query string as repeated parameters, in order. */
function rawQuery(querystring: string): QueryParams {
  const out: Record<string, string[]> = {};
  for (const [k, v] of new URLSearchParams(querystring)) (out[k] ??= []).push(v);
  return out;
}

/**
 * `POST /proxy` (a JSON envelope) and `ANY /proxy/:service/*` (raw pass-through, so an SDK can use
 * `<gateway>/proxy/stripe` as its base URL). Both need a gateway key with the `proxy` scope.
 */
export function proxyRoutes(deps: Deps, api: (tag: string) => Api) {
  const agents = new UpstreamAgents();
  deps.closers.push(() => agents.close());

  const built = api('Proxy').route(
    {
      method: 'post',
      path: '/proxy',
      summary: 'Call any REST service through the wallet: {service?, endpoint, method, query?, headers?, body?}',
      auth: 'gateway',
      body: envelopeSchema,
      refused: (ctx, err) => recordRefusal(ctx, deps, 'proxy', err),
      fast: true,
    },
    async (ctx, { body: envelope }) => {
      let service: string;
      try {
        service = envelopeService(envelope, ctx.get('x-service-hint'), ctx.state.principal!, deps.services.list());
      } catch (err) {
        return recordRefusal(ctx, deps, 'proxy', err);
      }
      const { body, contentType } = envelopeBody(envelope);
      const headers: Record<string, string> = { ...envelope.headers };
      for (const name of Object.keys(headers)) if (name.toLowerCase() === 'content-type') delete headers[name];
      if (contentType) headers['content-type'] = contentType;
      await proxyCall(ctx, deps, agents, {
        service,
        endpoint: envelope.endpoint,
        method: envelope.method,
        query: envelope.query,
        headers,
        body: async () => ({ replayable: true, data: body }),
      });
      return undefined;
    },
  );

  // The raw path is taken undecoded from the request line: the endpoint guard must see what was sent.
  const raw: Koa.Middleware = async (ctx: AppContext) => {
    const match = RAW_PATH.exec(ctx.path);
    if (!match) return recordRefusal(ctx, deps, 'proxy', new AppError('invalid_request', 'Expected /proxy/<service>/<endpoint>', { param: 'service' }));
    const method = ctx.method.toUpperCase();
    if (!(METHODS as readonly string[]).includes(method)) return recordRefusal(ctx, deps, 'proxy', new AppError('invalid_request', `Method ${method} is not proxied`));
    await proxyCall(ctx, deps, agents, {
      service: match[1],
      endpoint: match[2] ?? '/',
      method,
      query: rawQuery(ctx.querystring),
      headers: ctx.req.headers,
      body: () => spoolRequest(ctx.req),
    });
  };
  built.router.all('/proxy/:service', deps.keys.guard, raw);
  built.router.all('/proxy/:service/{*endpoint}', deps.keys.guard, raw);
  return built.router;
}
