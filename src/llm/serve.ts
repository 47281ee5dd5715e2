/**
 * The path every routed LLM request takes: one gateway call (limits, credits, usage event), the model's
 * targets in fallback order, one upstream attempt per wallet entry, then the answer as JSON or as a stream,
 * with tokens and cost put on the call for the usage event, the credit settlement and token quotas.
 */
import { pipeline, Readable } from 'node:stream';
import type { Deps } from '../deps';
import { runGatewayCall, type GatewayCall } from '../gateway/call';
import type { AppContext } from '../http/context';
import { TranslationError } from '../providers/anthropic/translation-error';
import { adapterFor } from '../providers/registry';
import { estimateTokens } from '../providers/tokens';
import type { ClientAnswer, LlmRequest, LlmSurface, StreamTranslator, TokenUsage, UpstreamRequest } from '../providers/types';
import type { UpstreamAgents } from '../proxy/forward';
import { scrubBytes, scrubText, type SecretNeedles } from '../proxy/secret-scrubber';
import { secretScrubber } from '../proxy/streams';
import type { WalletEntryView } from '../routing/router-types';
import { ClientWatch } from './client-watch';
import { routeTargets, TargetCannotServe, type QuotaCost } from './fallback';
import type { ModelTarget, ResolvedModel } from './models';
import type { PriceTable } from './pricing';
import { openSseResponse, pumpStream } from './sse-response';
import { llmAttempt, type TargetResult } from './upstream';

export interface LlmCallSpec {
  surface: LlmSurface;
  body: Record<string, unknown>;
  /** `body`'s bytes as the client sent them, when forwarding them unchanged is an option (LlmRequest.rawBody) */
  rawBody?: Buffer;
  resolved: ResolvedModel;
  stream: boolean;
  clientWantsStreamUsage: boolean;
  /** client headers a native surface forwards */
  clientHeaders: Record<string, string | undefined>;
  /** for the reservation before the call and for billing a stream that never reported usage */
  promptTokensEstimate: number;
  /** per choice */
  maxOutputTokens: number;
  /** choices asked for (OpenAI's `n`; 1 when absent); a protocol without `n` (Anthropic) answers one */
  choices?: number;
  /** server-side web searches the call may run (reserved per search where the price table prices them; 0 when absent) */
  webSearchesEstimate?: number;
  /** only this wallet entry may serve: it holds the state the request continues (Responses) */
  pinnedEntryId?: string;
  /** the id a translated Responses answer gets */
  responseId?: string;
  /** units the gateway counts itself rather than the provider (the characters of a speech request) */
  units?: Partial<TokenUsage>;
  /** units reserved up front besides tokens (the images a generation asks for) */
  reserveUnits?: Partial<TokenUsage>;
  /** a multipart upload: the API path and the spooled form */
  upload?: LlmRequest['upload'];
  /** told once an entry has answered, before the client has the answer (JSON) or more than its first bytes (stream) */
  onServed?: (served: ServedAnswer) => Promise<void>;
  /** told when a stream has ended (completed or not) */
  onStreamEnd?: (served: ServedAnswer) => Promise<void>;
}

export interface ServedAnswer {
  target: ModelTarget;
  entry: WalletEntryView;
  /** the JSON answer; null for a stream */
  answer: ClientAnswer | null;
  stream: StreamTranslator | null;
  /** the serving entry's secret in all its forms: whatever is kept of a stream must be scrubbed of it too */
  needles: SecretNeedles;
}

function buildUpstream(target: ModelTarget, request: LlmRequest): UpstreamRequest {
  try {
    return adapterFor(target.protocol).buildRequest(request);
  } catch (err) {
    if (err instanceof TranslationError) {
      throw new TargetCannotServe(`${err.message} (model ${target.service}/${target.model})`, err.param);
    }
    throw err;
  }
}

/**
 * The answer as bytes scrubbed of the attempt's provider secret: what the client gets and what is kept. Generated
 * audio is streamed as it comes, through the same scrubber (a mislabelled text answer is still checked; the scan
 * costs well under a microsecond per KB).
 */
function scrubbedAnswer(answer: ClientAnswer, needles: SecretNeedles): ClientAnswer & { body: Buffer | Readable } {
  if (answer.body instanceof Readable) {
    const scrubbed = secretScrubber(needles);
    pipeline(answer.body, scrubbed, () => {}); // an upstream failure destroys `scrubbed`, which cuts the response
    return { ...answer, body: scrubbed };
  }
  const bytes = Buffer.isBuffer(answer.body) ? answer.body : Buffer.from(JSON.stringify(answer.body));
  return { ...answer, body: scrubBytes(bytes, needles) };
}

function respondJson(ctx: AppContext, answer: ClientAnswer & { body: Buffer | Readable }): void {
  ctx.status = answer.status;
  // what ctx.type = 'json' sets, without the mime lookup; audio and text transcripts keep the upstream's own type
  ctx.res.setHeader('content-type', answer.contentType ?? 'application/json; charset=utf-8');
  ctx.body = answer.body;
}

/** The provider's own usage when it reported one; otherwise counted locally and marked estimated. */
function account(call: GatewayCall, prices: PriceTable, usage: TokenUsage | null, exact: boolean, promptEstimate: number, outputText: string, units?: Partial<TokenUsage>): void {
  let billed: TokenUsage;
  if (usage && exact) {
    billed = usage;
    call.estimated = false;
  } else {
    billed = { ...usage, promptTokens: usage?.promptTokens ?? promptEstimate, completionTokens: Math.max(usage?.completionTokens ?? 0, estimateTokens(outputText)) };
    call.estimated = true;
  }
  if (units) billed = { ...billed, ...units };
  call.promptTokens = billed.promptTokens;
  call.completionTokens = billed.completionTokens;
  // each part at its own rate (cached reads, reasoning, audio, images, seconds, characters), at this table's version
  call.costMicros = prices.usageCostMicros(call.model ?? '', billed);
  call.priceVersion = prices.version;
}

/** A wallet entry with a tokens or credits quota was charged the estimate up front: charge the difference. */
async function settleEntryQuota(deps: Deps, call: GatewayCall, entry: WalletEntryView, admittedAtMs: number, cost: QuotaCost): Promise<void> {
  const quota = entry.quota;
  if (!quota || quota.unit === 'requests') return;
  const delta = quota.unit === 'tokens' ? call.promptTokens + call.completionTokens - cost.tokens : (call.costMicros ?? 0) - cost.creditsMicros;
  try {
    await deps.router.settleQuota(entry.id, quota, admittedAtMs, delta);
  } catch (err) {
    deps.logger.error({ err, entryId: entry.id, requestId: call.requestId }, 'could not settle a wallet entry quota');
  }
}

export async function serveLlmCall(ctx: AppContext, deps: Deps, agents: UpstreamAgents, spec: LlmCallSpec): Promise<void> {
  const prices = await deps.llm.prices();
  const { targets } = spec.resolved;
  // Every choice may run to max_tokens: n of them on OpenAI; Anthropic has no n (a target that cannot serve n > 1 is passed over).
  const outputOf = (t: ModelTarget) => spec.maxOutputTokens * (t.protocol === 'openai' ? spec.choices ?? 1 : 1);
  const tokens = spec.promptTokensEstimate + Math.max(0, ...targets.map(outputOf));
  const reservedFor = (t: ModelTarget): TokenUsage => ({
    promptTokens: spec.promptTokensEstimate,
    completionTokens: outputOf(t),
    webSearchRequests: spec.webSearchesEstimate,
    ...spec.units,
    ...spec.reserveUnits,
  });
  const costOf = (t: ModelTarget) => prices.usageCostMicros(t.model, reservedFor(t));
  // Reserve for the dearest target: any of them may end up serving.
  const estimate = { tokens, costMicros: Math.max(0, ...targets.map(costOf)) };
  const clientGone = new ClientWatch(ctx.res);

  await runGatewayCall(ctx, deps, { surface: spec.surface, estimate, admitWhenRouting: true }, async (call) => {
    call.stream = spec.stream;
    const served = await routeTargets<TargetResult>(ctx, deps, call, targets, (target) => {
      const request: LlmRequest = {
        surface: spec.surface,
        body: spec.body,
        rawBody: spec.rawBody,
        model: target.model,
        stream: spec.stream,
        clientWantsStreamUsage: spec.clientWantsStreamUsage,
        clientHeaders: spec.clientHeaders,
        anthropicVersion: deps.config.anthropicVersion,
        responseId: spec.responseId,
        upload: spec.upload,
      };
      const upstream = buildUpstream(target, request);
      const adapter = adapterFor(target.protocol);
      return {
        quotaCost: { requests: 1, tokens: spec.promptTokensEstimate + outputOf(target), creditsMicros: costOf(target) },
        attempt: llmAttempt({ agents, adapter, request, upstream, clientGone, now: () => deps.clock.now() }),
      };
    }, { pinnedEntryId: spec.pinnedEntryId });
    const { value, entry } = served.result;
    const answer = value.kind === 'answer' ? scrubbedAnswer(value.answer, value.needles) : null;
    const answered: ServedAnswer = { target: served.target, entry, answer, stream: value.kind === 'stream' ? value.translator : null, needles: value.needles };
    await spec.onServed?.(answered);

    if (value.kind === 'answer') {
      respondJson(ctx, answer!);
      if (value.answer.status < 300) account(call, prices, value.answer.usage, true, spec.promptTokensEstimate, '', spec.units);
      await settleEntryQuota(deps, call, entry, value.admittedAtMs, served.quotaCost);
      return;
    }

    const sink = openSseResponse(ctx);
    const done = pumpStream(spec.surface, value, sink, clientGone).then(async ({ end, failure }) => {
      const { translator } = value;
      account(call, prices, translator.usage, end === 'completed', spec.promptTokensEstimate, translator.completionText, spec.units);
      // the code of an in-band upstream error is the upstream's own text: it goes to the usage event scrubbed
      if (end === 'failed') call.errorCode = failure ? scrubText(failure.code, value.needles).slice(0, 64) : 'upstream_stream_interrupted';
      if (end === 'aborted') call.errorCode = 'client_closed';
      await settleEntryQuota(deps, call, entry, value.admittedAtMs, served.quotaCost);
      await spec.onStreamEnd?.(answered);
    });
    return { done };
  });
}
