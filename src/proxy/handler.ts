import { pipeline } from 'node:stream';
import type { Readable } from 'node:stream';
import type { Deps } from '../deps';
import { recordRefusal, runGatewayCall } from '../gateway/call';
import type { AppContext } from '../http/context';
import { AppError } from '../http/errors';
import { assertScope, assertServiceAllowed } from '../keys/restrictions';
import type { Service } from '../services/service';
import { buildUpstreamUrl, EndpointRejected, QueryParams } from './endpoint-guard';
import { forward, PrivateAddressRefused, UpstreamAgents, type UpstreamAnswer } from './forward';
import type { HeaderBag } from './headers';
import { contentDecoder, secretScrubber, spoolBody, type SpooledBody } from './streams';

/** What both proxy routes (envelope and raw) ask of the upstream. */
export interface ProxyTarget {
  service: string;
  endpoint: string;
  method: string;
  query?: QueryParams;
  headers: HeaderBag;
  /** read only once the call is admitted: a refused caller's upload is never spooled */
  body: () => Promise<SpooledBody>;
}

/** Bodies up to this size are kept in memory so a failed attempt can fall back to the next key. */
const REPLAYABLE_BYTES = 1024 * 1024;
const NO_BODY_STATUSES = new Set([204, 205, 304]);

export function spoolRequest(stream: Readable): Promise<SpooledBody> {
  return spoolBody(stream, REPLAYABLE_BYTES);
}

/** Everything a client may learn about the decision, on success and on failure alike. */
function setRouteHeaders(ctx: AppContext, entryId: string | null, attempts: number, decision?: string): void {
  if (entryId) ctx.set('x-keywallet-provider-key', entryId);
  ctx.set('x-keywallet-attempts', String(attempts));
  if (decision) ctx.set('x-keywallet-route', decision);
}

/** Checks that need nothing from the upstream, all before any byte leaves the gateway. */
function prepare(ctx: AppContext, deps: Deps, target: ProxyTarget): { service: Service; url: URL } {
  const principal = ctx.state.principal;
  if (!principal) throw new AppError('invalid_api_key', 'Missing gateway key');
  assertScope(principal, 'proxy');
  const service = deps.services.get(target.service);
  if (!service) throw new AppError('not_found', `Unknown service '${target.service}'`, { param: 'service' });
  assertServiceAllowed(principal, service.slug);
  try {
    return { service, url: buildUpstreamUrl(service.baseUrl, target.endpoint, target.query) };
  } catch (err) {
    if (err instanceof EndpointRejected) throw new AppError('invalid_request', `Invalid endpoint: ${err.reason}`, { param: 'endpoint' });
    throw err;
  }
}

/**
 * One proxied call: validate, admit (rate limits and credits), route across the service's wallet entries,
 * and stream the upstream answer back with its status — credentials stripped, the provider secret scrubbed.
 */
export async function proxyCall(ctx: AppContext, deps: Deps, agents: UpstreamAgents, target: ProxyTarget): Promise<void> {
  let prepared: { service: Service; url: URL };
  // a service created on another node a moment ago is served here too (an authenticated caller's miss reloads once)
  if (ctx.state.principal && !deps.services.get(target.service)) await deps.services.getOrReload(target.service);
  try {
    prepared = prepare(ctx, deps, target);
  } catch (err) {
    return recordRefusal(ctx, deps, 'proxy', err); // an unknown service, a bad endpoint: counted and recorded too
  }
  const { service, url } = prepared;
  const principal = ctx.state.principal!;
  const estimate = { tokens: 0, costMicros: service.costPerCallMicros };
  await runGatewayCall(ctx, deps, { surface: 'proxy', estimate, cost: () => service.costPerCallMicros }, async (call) => {
    call.service = service.slug;
    const body = await target.body();
    let answer: UpstreamAnswer;
    let secret: string;
    try {
      const routed = await deps.router.route(
        {
          service: service.slug,
          environment: principal.environment,
          team: principal.team,
          quotaCost: { requests: 1, tokens: 0, creditsMicros: service.costPerCallMicros },
          // a body too large to keep can be sent once only
          maxAttempts: body.replayable ? undefined : 1,
        },
        async (a) => {
          secret = a.secret;
          const payload = body.replayable ? body.data : body.stream;
          const req = { service: a.service, secret: a.secret, url, method: target.method, headers: target.headers, body: payload, signal: a.signal };
          return forward(agents, req, deps.clock.now());
        },
        call,
      );
      answer = routed.value;
      setRouteHeaders(ctx, routed.entry.id, routed.attempts, routed.decision);
    } catch (err) {
      setRouteHeaders(ctx, call.walletEntryId, call.attempts);
      if (err instanceof PrivateAddressRefused) {
        throw new AppError('upstream_failed', `The upstream of service '${service.slug}' resolves to a private or reserved address`);
      }
      throw err;
    }
    return { done: respond(ctx, target.method, answer, secret!) };
  });
}

/** Writes the upstream answer; resolves when the body has been fully sent (or the client went away). */
function respond(ctx: AppContext, method: string, answer: UpstreamAnswer, secret: string): Promise<void> {
  const hasBody = method !== 'HEAD' && !NO_BODY_STATUSES.has(answer.status);
  const decoder = hasBody ? contentDecoder(answer.headers['content-encoding']) : null;
  if (decoder === undefined) {
    answer.body.on('error', () => {}).destroy(); // undici reports its own abort as an error
    // unread bytes cannot be checked for the secret: they do not go out
    throw new AppError('upstream_failed', 'The upstream answered in a content encoding the gateway cannot read');
  }
  ctx.status = answer.status;
  for (const [name, value] of Object.entries(answer.headers)) {
    // The gateway's own x-ratelimit-* headers describe the caller's limits; the provider key's stay inside.
    if (name.startsWith('x-ratelimit-') || (decoder && name === 'content-encoding')) continue;
    ctx.set(name, value);
  }
  if (!hasBody) {
    answer.body.resume();
    ctx.body = null;
    ctx.status = answer.status;
    return Promise.resolve();
  }
  const scrubbed = secretScrubber(secret);
  const done = new Promise<void>((resolve, reject) => {
    const settle = (err: Error | null | undefined) => {
      if (!err) return resolve();
      // Cut the connection rather than end a truncated body cleanly: the client must see the failure.
      if (ctx.res.headersSent && !ctx.res.writableEnded) ctx.res.destroy();
      reject(err);
    };
    if (decoder) pipeline(answer.body, decoder, scrubbed, settle);
    else pipeline(answer.body, scrubbed, settle);
  });
  ctx.body = scrubbed;
  return done;
}
