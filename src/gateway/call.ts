import type { Deps } from '../deps';
import type { AppContext } from '../http/context';
import { AppError } from '../http/errors';
import { holdLastChunk } from './hold-last-chunk';
import type { GatewayPrincipal } from '../keys/principal';
import type { Admission } from '../limits/service';
import type { AdmitResult, CounterCheck } from '../store/kv';
import type { LlmSurface } from '../providers/types';
import { statusClass } from '../usage/rollup-hourly';

export type Surface = LlmSurface | 'models' | 'proxy';

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
  /** the price table version `costMicros` was worked out with */
  priceVersion?: number | null;
  /** set when a stream failed after its first byte (the status was already 200) */
  errorCode: string | null;
  /** the call's rate-limit and credit admission (shared by the copies the alias fallback makes) */
  readonly admission: AdmissionGate;
}

/**
 * A call's admission against rate limits and credits, made once. Most calls are admitted before their handler
 * runs. A routed LLM call is admitted lazily, by the router when it takes the first wallet entry's quota, so the
 * request's counters and the entry's quota travel in one atomic counter-store step (one Redis round trip instead of
 * two) and no quota is taken for a refused request. The router admits before any upstream attempt.
 */
export class AdmissionGate {
  private pending: Promise<Admission> | null = null;

  constructor(private readonly run: (linked?: CounterCheck[]) => Promise<Admission>) {}

  get started(): boolean {
    return this.pending !== null;
  }

  /**
   * Admits the call, taking `linked` counters in the same step only if it is admitted, and returns their result;
   * undefined when they were not tried (then the caller takes them itself) — always so once the call was admitted
   * before. Throws the refusal (429, 402, 503).
   */
  async admit(linked?: CounterCheck[]): Promise<AdmitResult | undefined> {
    if (this.pending) {
      await this.pending;
      return undefined;
    }
    return (await this.settled(linked)).linked;
  }

  /** The admission: the one under way, or a new one. */
  settled(linked?: CounterCheck[]): Promise<Admission> {
    this.pending ??= this.run(linked);
    return this.pending;
  }
}

export interface CallOptions {
  surface: Surface;
  /** reserved before the call, settled against the real figures after it */
  estimate: { tokens: number; costMicros: number };
  cost?: (call: GatewayCall) => number;
  /** admit when the router takes the first wallet entry (see AdmissionGate); the handler must route before any work */
  admitWhenRouting?: boolean;
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
    admission: new AdmissionGate(async (linked) => {
      const admission = await deps.limits.admit(principal, { estimatedTokens: opts.estimate.tokens, estimatedCostMicros: opts.estimate.costMicros }, linked);
      // straight onto the response: the names are ours and the values plain strings, Koa's checks add nothing
      const limitHeaders = admission.headers;
      for (const name in limitHeaders) ctx.res.setHeader(name, limitHeaders[name]);
      return admission;
    }),
  };

  /** Records the usage event and the metrics; `durable` resolves once the event is stored (see UsageWriter.record). */
  const finish = (status: number, errorCode: string | null): { costMicros: number; durable: Promise<void> } => {
    // Billed when an upstream answered something other than a server error (a 4xx may still cost the provider);
    // refused, failed-over-everything and gateway errors cost nothing.
    const billable = status < 400 || (status < 500 && call.attempts > 0);
    const costMicros = billable ? call.costMicros ?? opts.cost?.(call) ?? 0 : 0;
    const durable = deps.usage.record({
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
      priceVersion: call.priceVersion ?? null,
      teamId: principal.team?.id ?? null,
    });
    const m = deps.metrics;
    const service = call.service ?? 'none';
    m.gatewayRequests.labels(call.surface, service, String(status)).inc();
    if (call.promptTokens || call.completionTokens) {
      const model = call.model ?? 'none';
      m.tokens.labels(service, model, 'prompt').inc(call.promptTokens);
      m.tokens.labels(service, model, 'completion').inc(call.completionTokens);
    }
    if (costMicros > 0) m.costUsd.labels(service, call.model ?? 'none').inc(costMicros / 1e6);
    const team = principal.team?.slug ?? 'none';
    m.teamRequests.labels(team, statusClass(status)).inc();
    if (call.promptTokens || call.completionTokens) {
      m.teamTokens.labels(team, 'prompt').inc(call.promptTokens);
      m.teamTokens.labels(team, 'completion').inc(call.completionTokens);
    }
    if (costMicros > 0) m.teamCostUsd.labels(team).inc(costMicros / 1e6);
    return { costMicros, durable };
  };

  // The answer leaves only once its usage event is stored: a process killed right after answering loses nothing.
  const refused = async (err: unknown) => {
    await finish(err instanceof AppError ? err.status : 500, err instanceof AppError ? err.code : 'internal_error').durable;
    return err;
  };
  if (!opts.admitWhenRouting) {
    await call.admission.settled().catch(async (err) => {
      throw await refused(err);
    });
  }

  let outcome: void | { done: Promise<void> };
  try {
    outcome = await handle(call);
    if (!call.admission.started) await call.admission.settled(); // a handler that never routed is still counted
  } catch (err) {
    // The admission decides first: a refused request is refused, whatever else went wrong. A handler that failed
    // before routing (an unknown model, say) is admitted now, so it counts against the limits as it always did.
    let admission: Admission;
    try {
      admission = await call.admission.settled();
    } catch (refusal) {
      throw await refused(refusal);
    }
    const status = err instanceof AppError ? err.status : 500;
    const { costMicros: cost, durable } = finish(status, err instanceof AppError ? err.code : 'internal_error');
    if (cost > 0) deps.limits.settle(admission, { tokens: call.promptTokens + call.completionTokens, costMicros: cost });
    else deps.limits.refund(admission);
    await durable;
    throw err;
  }
  const admission = await call.admission.settled(); // admitted by now (the handler routed, or the line above)

  // The event and the settlement go out in the same turn: on Redis, one script call carries both.
  const settle = () => {
    const { costMicros: cost, durable } = finish(ctx.status, null);
    deps.limits.settle(admission, { tokens: call.promptTokens + call.completionTokens, costMicros: cost });
    return durable;
  };
  if (outcome && 'done' in outcome) {
    let stored!: () => void;
    // a body the handler streams through Koa keeps its last chunk until the event is stored (SSE the handler writes
    // to the socket itself ends first: its event is stored right after its last byte)
    holdLastChunk(ctx, new Promise<void>((resolve) => (stored = resolve)));
    outcome.done
      .then(settle, (err) => {
        call.errorCode ??= err instanceof AppError ? err.code : 'stream_failed';
        return settle();
      })
      .then(stored, stored);
  } else {
    await settle();
  }
}

/**
 * A request refused before its handler could run the call (bad input, an unknown or forbidden model, a missing
 * scope) still goes through the gateway call: it is rate limited and leaves its usage event like any request.
 * Rethrows the refusal, or the rate-limit / credit refusal that wins over it. `model` is recorded when known good.
 */
export async function recordRefusal(ctx: AppContext, deps: Deps, surface: Surface, err: unknown, model: string | null = null): Promise<never> {
  await runGatewayCall(ctx, deps, { surface, estimate: { tokens: 0, costMicros: 0 } }, async (call) => {
    call.model = model;
    throw err;
  });
  throw err;
}
