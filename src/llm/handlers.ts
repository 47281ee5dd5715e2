/**
 * The /v1 surfaces: what each takes from its request (scope, model, stream, estimates) before the shared
 * path in ./serve.ts routes it. Refusals made here (scope, unknown or forbidden model) still leave a usage event.
 */
import type { Deps } from '../deps';
import { recordRefusal, runGatewayCall, type Surface } from '../gateway/call';
import type { AppContext } from '../http/context';
import { AppError } from '../http/errors';
import type { GatewayPrincipal, Scope } from '../keys/principal';
import { assertScope } from '../keys/restrictions';
import { isRecord } from '../providers/anthropic/translation-error';
import { DEFAULT_MAX_TOKENS } from '../providers/anthropic/translate-request';
import { estimatePromptTokens, estimateTokens } from '../providers/tokens';
import type { UpstreamAgents } from '../proxy/forward';
import type { ResolvedModel, ResolveOptions } from './models';
import { serveLlmCall } from './serve';

/**
 * Runs a refusal (scope, model, input) through the gateway call too, so it is rate limited and recorded like any
 * request, with the model it named once the schema has accepted the name.
 */
export function refused(ctx: AppContext, deps: Deps, surface: Surface, err: unknown): Promise<never> {
  const model = err instanceof AppError && err.param === 'model' ? String((ctx.request as { body?: { model?: unknown } }).body?.model ?? '') || null : null;
  return recordRefusal(ctx, deps, surface, err, model);
}

/** Api's `refused` hook for a /v1 surface: an input refusal is rate limited and recorded like any call (no model). */
export const refusedAs = (deps: Deps, surface: Surface) => (ctx: AppContext, err: unknown) => recordRefusal(ctx, deps, surface, err);

export function principalOf(ctx: AppContext): GatewayPrincipal {
  const principal = ctx.state.principal;
  if (!principal) throw new AppError('invalid_api_key', 'Missing gateway key');
  return principal;
}

export async function admitModel(ctx: AppContext, deps: Deps, surface: Surface, scope: Scope, model: string, opts?: ResolveOptions): Promise<ResolvedModel> {
  const principal = principalOf(ctx);
  try {
    assertScope(principal, scope);
    return await deps.llm.resolve(principal, model, opts);
  } catch (err) {
    if (err instanceof AppError) return refused(ctx, deps, surface, err);
    throw err;
  }
}

export function positiveInt(value: unknown): number | null {
  return typeof value === 'number' && Number.isInteger(value) && value > 0 ? value : null;
}

/**
 * Web searches a call may run on the provider's side: a web search tool up to its `max_uses` (Anthropic; one when
 * unbounded, OpenAI's Responses tool included: the rest is billed as reported), one for an OpenAI chat call with
 * `web_search_options`.
 */
export function webSearchesEstimate(body: Record<string, unknown>): number {
  let searches = isRecord(body.web_search_options) ? 1 : 0;
  if (Array.isArray(body.tools)) {
    for (const tool of body.tools) {
      if (isRecord(tool) && typeof tool.type === 'string' && tool.type.startsWith('web_search')) searches += positiveInt(tool.max_uses) ?? 1;
    }
  }
  return searches;
}

export interface ChatBody extends Record<string, unknown> {
  model: string;
  messages: unknown[];
  stream?: boolean | null;
}

export async function chatCompletions(ctx: AppContext, deps: Deps, agents: UpstreamAgents, body: ChatBody, rawBody?: Buffer): Promise<void> {
  const resolved = await admitModel(ctx, deps, 'chat', 'chat', body.model);
  const stream = body.stream === true;
  const options = isRecord(body.stream_options) ? body.stream_options : {};
  await serveLlmCall(ctx, deps, agents, {
    surface: 'chat',
    body,
    rawBody,
    resolved,
    stream,
    clientWantsStreamUsage: stream && options.include_usage === true,
    clientHeaders: {},
    promptTokensEstimate: estimatePromptTokens(body.messages) + (body.tools ? estimateTokens(JSON.stringify(body.tools)) : 0),
    maxOutputTokens: positiveInt(body.max_completion_tokens) ?? positiveInt(body.max_tokens) ?? DEFAULT_MAX_TOKENS,
    choices: positiveInt(body.n) ?? 1,
    webSearchesEstimate: webSearchesEstimate(body),
  });
}

export interface MessagesBody extends Record<string, unknown> {
  model: string;
  messages: unknown[];
  max_tokens: number;
  stream?: boolean;
}

export async function anthropicMessages(ctx: AppContext, deps: Deps, agents: UpstreamAgents, body: MessagesBody, rawBody?: Buffer): Promise<void> {
  const resolved = await admitModel(ctx, deps, 'messages', 'chat', body.model, { protocols: ['anthropic'], surfaceName: '/v1/messages' });
  const system = body.system === undefined ? 0 : estimatePromptTokens([{ content: body.system }]);
  await serveLlmCall(ctx, deps, agents, {
    surface: 'messages',
    body,
    rawBody,
    resolved,
    stream: body.stream === true,
    clientWantsStreamUsage: false,
    clientHeaders: { 'anthropic-version': ctx.get('anthropic-version') || undefined, 'anthropic-beta': ctx.get('anthropic-beta') || undefined },
    promptTokensEstimate: estimatePromptTokens(body.messages) + system + (body.tools ? estimateTokens(JSON.stringify(body.tools)) : 0),
    maxOutputTokens: body.max_tokens,
    choices: 1,
    webSearchesEstimate: webSearchesEstimate(body),
  });
}

/** Anthropic's token counting, on an Anthropic model or an alias (served by its first Anthropic target). Free. */
export async function countMessageTokens(ctx: AppContext, deps: Deps, agents: UpstreamAgents, body: MessagesBody): Promise<void> {
  const resolved = await admitModel(ctx, deps, 'count_tokens', 'chat', body.model, { protocols: ['anthropic'], surfaceName: '/v1/messages/count_tokens' });
  await serveLlmCall(ctx, deps, agents, {
    surface: 'count_tokens',
    body,
    resolved,
    stream: false,
    clientWantsStreamUsage: false,
    clientHeaders: { 'anthropic-version': ctx.get('anthropic-version') || undefined, 'anthropic-beta': ctx.get('anthropic-beta') || undefined },
    promptTokensEstimate: 0,
    maxOutputTokens: 0,
  });
}

export interface EmbeddingsBody extends Record<string, unknown> {
  model: string;
  input: unknown;
}

/** Strings count by length, pre-tokenised input (arrays of token ids) by its ids. */
function embeddingInputTokens(input: unknown): number {
  if (typeof input === 'string') return estimateTokens(input);
  if (!Array.isArray(input)) return 0;
  if (input.every((x) => typeof x === 'number')) return input.length;
  return input.reduce((sum: number, item) => sum + embeddingInputTokens(item), 0);
}

export async function embeddings(ctx: AppContext, deps: Deps, agents: UpstreamAgents, body: EmbeddingsBody, rawBody?: Buffer): Promise<void> {
  const resolved = await admitModel(ctx, deps, 'embeddings', 'embeddings', body.model, { protocols: ['openai'], surfaceName: '/v1/embeddings' });
  await serveLlmCall(ctx, deps, agents, {
    surface: 'embeddings',
    body,
    rawBody,
    resolved,
    stream: false,
    clientWantsStreamUsage: false,
    clientHeaders: {},
    promptTokensEstimate: embeddingInputTokens(body.input),
    maxOutputTokens: 0,
    choices: 1,
    webSearchesEstimate: 0,
  });
}

/** A prompt (string, strings, or token ids) as a token estimate. */
function promptTokens(prompt: unknown): number {
  return embeddingInputTokens(prompt);
}

export interface CompletionsBody extends Record<string, unknown> {
  model: string;
  prompt?: unknown;
  stream?: boolean | null;
}

/** The legacy Completions API, on OpenAI-protocol services. */
export async function completions(ctx: AppContext, deps: Deps, agents: UpstreamAgents, body: CompletionsBody): Promise<void> {
  const resolved = await admitModel(ctx, deps, 'completions', 'chat', body.model, { protocols: ['openai'], surfaceName: '/v1/completions' });
  const stream = body.stream === true;
  const options = isRecord(body.stream_options) ? body.stream_options : {};
  const n = positiveInt(body.n) ?? 1;
  await serveLlmCall(ctx, deps, agents, {
    surface: 'completions',
    body,
    resolved,
    stream,
    clientWantsStreamUsage: stream && options.include_usage === true,
    clientHeaders: {},
    promptTokensEstimate: promptTokens(body.prompt ?? ''),
    // OpenAI's own default for max_tokens on this API is 16; every choice may use all of it
    maxOutputTokens: (positiveInt(body.max_tokens) ?? 16) * n,
  });
}

/** Moderations (free at OpenAI) and image generations: JSON in, JSON out, on OpenAI-protocol services. */
export async function openaiJsonSurface(
  ctx: AppContext,
  deps: Deps,
  agents: UpstreamAgents,
  surface: 'moderations' | 'images',
  body: Record<string, unknown> & { model: string },
  promptText: unknown,
): Promise<void> {
  const path = surface === 'images' ? '/v1/images/generations' : '/v1/moderations';
  const resolved = await admitModel(ctx, deps, surface, 'chat', body.model, { protocols: ['openai'], surfaceName: path });
  await serveLlmCall(ctx, deps, agents, {
    surface,
    body,
    resolved,
    stream: false,
    clientWantsStreamUsage: false,
    clientHeaders: {},
    promptTokensEstimate: promptTokens(promptText),
    maxOutputTokens: 0,
    reserveUnits: surface === 'images' ? { images: positiveInt(body.n) ?? 1 } : undefined,
  });
}

function modelObject(id: string, ownedBy: string) {
  return { id, object: 'model' as const, created: 0, owned_by: ownedBy };
}

/** OpenAI's list format, of what this key may use. Not routed, but limited and recorded like any call. */
export async function listModelsForKey(ctx: AppContext, deps: Deps): Promise<void> {
  const principal = principalOf(ctx);
  await runGatewayCall(ctx, deps, { surface: 'models', estimate: { tokens: 0, costMicros: 0 } }, async () => {
    assertScope(principal, 'models');
    const models = await deps.llm.list(principal);
    ctx.body = { object: 'list', data: models.map((m) => modelObject(m.id, m.ownedBy)) };
  });
}

export async function retrieveModelForKey(ctx: AppContext, deps: Deps, id: string): Promise<void> {
  const principal = principalOf(ctx);
  await runGatewayCall(ctx, deps, { surface: 'models', estimate: { tokens: 0, costMicros: 0 } }, async (call) => {
    assertScope(principal, 'models');
    call.model = id;
    const resolved = await deps.llm.resolve(principal, id);
    ctx.body = modelObject(id, resolved.targets[0].service);
  });
}
