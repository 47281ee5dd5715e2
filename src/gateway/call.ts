import type { Deps } from '../deps';
import type { AppContext } from '../http/context';
import { AppError } from '../http/errors';
import type { GatewayPrincipal } from '../keys/principal';

export type Surface = 'chat' | 'messages' | 'embeddings' | 'models' | 'proxy';

/** What one /v1 or /proxy request did, filled in by its handler and the router as it goes. */
export interface GatewayCall {
  readonly requestId: string;
  readonly principal: GatewayPrincipal;
  readonly surface: Surface;
  service: string | null;
  model: string | null;
  walletEntryId: string | null;
  attempts: number;
  upstreamLatencyMs: number | null;
  promptTokens: number;
  completionTokens: number;
  estimated: boolean;
  stream: boolean;
  /** what the call cost; null → `opts.cost(call)` at settlement (price table, cost per call), else 0 */
  costMicros: number | null;
  /** set when a stream failed after its first byte (the status was already 200) */
  errorCode: string | null;
}

export interface CallOptions {
  surface: Surface;
  /** reserved before the call, settled against the real figures after it */
  estimate: { tokens: number; costMicros: number };
  cost?: (call: GatewayCall) => number;
}

type Handler = (call: GatewayCall) => Promise<void | { done: Promise<void> }>;

/**
 * The one path every gateway request takes: admit against rate limits and credits (reserving the estimate),
 * run the handler, then settle against the real usage (or refund on failure), and record exactly one usage
 * event and the metrics — after the stream has ended when the handler streams.
 */
export async function runGatewayCall(ctx: AppContext, deps: Deps, opts: CallOptions, handle: Handler): Promise<void> {
  const principal = ctx.state.principal;
  if (!principal) throw new AppError('invalid_api_key', 'Missing gateway key');
  const startedAt = deps.clock.now();
  const t0 = performance.now();
  const call: GatewayCall = {
    requestId: ctx.state.requestId,
    principal,
    surface: opts.surface,
    service: null,
    model: null,
    walletEntryId: null,
    attempts: 0,
    upstreamLatencyMs: null,
    promptTokens: 0,
    completionTokens: 0,
    estimated: false,
    stream: false,
    costMicros: null,
    errorCode: null,
  };

  const finish = (status: number, errorCode: string | null) => {
    // Billed when an upstream answered something other than a server error (a 4xx may still cost the provider);
    // refused, failed-over-everything and gateway errors cost nothing.
    const billable = status < 400 || (status < 500 && call.attempts > 0);
    const costMicros = billable ? call.costMicros ?? opts.cost?.(call) ?? 0 : 0;
    deps.usage.record({
      ts: startedAt,
      requestId: call.requestId,
      gatewayKeyId: principal.keyId,
      userId: principal.userId,
      walletEntryId: call.walletEntryId,
      surface: call.surface,
      service: call.service,
      model: call.model,
      status,
      errorCode: errorCode ?? call.errorCode,
      latencyMs: Math.round(performance.now() - t0),
      upstreamLatencyMs: call.upstreamLatencyMs,
      promptTokens: call.promptTokens,
      completionTokens: call.completionTokens,
      costMicros,
      estimated: call.estimated,
      stream: call.stream,
      attempts: call.attempts,
    });
    const m = deps.metrics;
    const service = call.service ?? 'none';
    m.gatewayRequests.labels(call.surface, service, String(status)).inc();
    if (call.promptTokens || call.completionTokens) {
      const model = call.model ?? 'none';
      m.tokens.labels(service, model, 'prompt').inc(call.promptTokens);
      m.tokens.labels(service, model, 'completion').inc(call.completionTokens);
    }
    if (costMicros > 0) {
      m.costUsd.labels(service, call.model ?? 'none').inc(costMicros / 1e6);
      m.userCostUsd.labels(principal.userId).inc(costMicros / 1e6);
    }
    return costMicros;
  };

  let admission: Awaited<ReturnType<Deps['limits']['admit']>>;
  try {
    admission = await deps.limits.admit(principal, {
      estimatedTokens: opts.estimate.tokens,
      estimatedCostMicros: opts.estimate.costMicros,
    });
  } catch (err) {
    finish(err instanceof AppError ? err.status : 500, err instanceof AppError ? err.code : 'internal_error');
    throw err;
  }
  // straight onto the response: the names are ours and the values plain strings, Koa's checks add nothing
  const limitHeaders = admission.headers;
  for (const name in limitHeaders) ctx.res.setHeader(name, limitHeaders[name]);

  let outcome: void | { done: Promise<void> };
  try {
    outcome = await handle(call);
  } catch (err) {
    const status = err instanceof AppError ? err.status : 500;
    const cost = finish(status, err instanceof AppError ? err.code : 'internal_error');
    if (cost > 0) deps.limits.settle(admission, { tokens: call.promptTokens + call.completionTokens, costMicros: cost });
    else deps.limits.refund(admission);
    throw err;
  }

  const settle = () => {
    const cost = finish(ctx.status, null);
    deps.limits.settle(admission, { tokens: call.promptTokens + call.completionTokens, costMicros: cost });
  };
  if (outcome && 'done' in outcome) {
    outcome.done.then(settle, (err) => {
      call.errorCode ??= err instanceof AppError ? err.code : 'stream_failed';
      settle();
    });
  } else {
    settle();
  }
}
