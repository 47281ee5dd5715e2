/**
 * Alias fallback across services: the router falls back across the wallet entries of one service; when every
 * entry of a target fails (or none is usable), the next target of the alias serves the same request.
 */
import type { Deps } from '../deps';
import type { GatewayCall } from '../gateway/call';
import type { AppContext } from '../http/context';
import { AppError } from '../http/errors';
import type { AttemptContext, AttemptOutcome, RouteResult } from '../routing/router-types';
import type { ModelTarget } from './models';

export interface QuotaCost {
  requests: number;
  tokens: number;
  creditsMicros: number;
}

export interface TargetPlan<T> {
  quotaCost: QuotaCost;
  attempt: (a: AttemptContext) => Promise<AttemptOutcome<T>>;
}

export interface ServedTarget<T> {
  target: ModelTarget;
  result: RouteResult<T>;
  quotaCost: QuotaCost;
}

/** A request this target's protocol cannot express (n > 1 for Anthropic, say): the next target may. */
export class TargetCannotServe extends AppError {
  constructor(message: string, param: string | null) {
    super('invalid_request', message, { param });
  }
}

/** 502 all failed, 503 none usable, 504 timed out: another service may still answer. */
function worthAnotherService(err: unknown): boolean {
  return err instanceof AppError && (err.status === 502 || err.status === 503 || err.status === 504);
}

/** Header values must be visible ASCII: model names come from clients. */
function headerSafe(text: string): string {
  return text.replace(/[^\x20-\x7e]/g, '?').slice(0, 512);
}

/**
 * Routes `targets` in order inside one gateway call. `plan(target)` builds a target's attempt before any of
 * its entries is tried, so a request that cannot be expressed for that provider fails with 400 up front.
 */
export async function routeTargets<T>(
  ctx: AppContext,
  deps: Deps,
  call: GatewayCall,
  targets: readonly ModelTarget[],
  plan: (target: ModelTarget) => TargetPlan<T>,
  opts: { pinnedEntryId?: string } = {},
): Promise<ServedTarget<T>> {
  const passed: string[] = [];
  // one wallet entry retired per request at most, across the whole chain
  const invalidations = { remaining: 1 };
  for (let i = 0; i < targets.length; i++) {
    const target = targets[i];
    call.service = target.service;
    call.model = target.model;
    let planned: TargetPlan<T>;
    try {
      planned = plan(target);
    } catch (err) {
      if (!(err instanceof TargetCannotServe) || i === targets.length - 1) throw err;
      passed.push(`${target.service}/${target.model}: unsupported`);
      continue;
    }
    const { quotaCost, attempt } = planned;
    // The router counts attempts per service; this call counts them across the whole chain.
    const perTarget: GatewayCall = { ...call, attempts: 0, walletEntryId: null };
    try {
      const result = await deps.router.route(
        { service: target.service, environment: call.principal.environment, team: call.principal.team, model: target.model, quotaCost, pinnedEntryId: opts.pinnedEntryId, invalidations },
        attempt,
        perTarget,
      );
      // straight onto the response (nothing is sent yet): Koa's set() re-checks each header for nothing here
      const res = ctx.res;
      res.setHeader('x-keywallet-provider-key', result.entry.id);
      res.setHeader('x-keywallet-route', headerSafe([...passed, `${target.service}/${target.model}: ${result.decision}`].join(' | ')));
      res.setHeader('x-keywallet-model', headerSafe(`${target.service}/${target.model}`));
      return { target, result, quotaCost };
    } catch (err) {
      if (!worthAnotherService(err) || i === targets.length - 1) throw err;
      passed.push(`${target.service}/${target.model}: ${(err as AppError).code}`);
      deps.metrics.fallbacks.labels(target.service, 'alias').inc();
      deps.logger.info(
        { requestId: call.requestId, from: `${target.service}/${target.model}`, to: `${targets[i + 1].service}/${targets[i + 1].model}`, code: (err as AppError).code },
        'alias fell back to its next target',
      );
    } finally {
      call.attempts += perTarget.attempts;
      call.walletEntryId = perTarget.walletEntryId ?? call.walletEntryId;
      call.upstreamLatencyMs = perTarget.upstreamLatencyMs ?? call.upstreamLatencyMs;
      if (!ctx.res.headersSent) ctx.res.setHeader('x-keywallet-attempts', String(call.attempts));
    }
  }
  throw new AppError('model_not_found', 'No target to route to');
}
