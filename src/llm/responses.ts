/**
 * OpenAI's Responses API on any model. To an OpenAI-protocol service the request goes as is (only `model` is
 * replaced); to Anthropic it is translated (providers/anthropic/responses-*.ts). A conversation stays with
 * whoever holds its state: a response stored by OpenAI can only be continued, read or deleted through the wallet
 * entry that created it (another key of the same service cannot see it), so `previous_response_id` pins the
 * call to that entry; a translated response is stored by the gateway itself and continues on a translated
 * target. Retrieval, deletion and input_items are rate limited and recorded like any call, at no cost.
 */
import type { Deps } from '../deps';
import { runGatewayCall } from '../gateway/call';
import type { AppContext } from '../http/context';
import { AppError } from '../http/errors';
import { assertScope } from '../keys/restrictions';
import { openaiAdapter } from '../providers/openai/adapter';
import { responseItemId } from '../providers/responses/objects';
import { isRecord } from '../providers/anthropic/translation-error';
import { estimatePromptTokens, estimateTokens } from '../providers/tokens';
import { forward, type UpstreamAgents } from '../proxy/forward';
import { needlesFor, scrubBytes, scrubJson, type SecretNeedles } from '../proxy/secret-scrubber';
import type { AttemptOutcome } from '../routing/router-types';
import { admitModel, principalOf, positiveInt, refused, webSearchesEstimate } from './handlers';
import type { ModelTarget, ResolvedModel } from './models';
import type { ResponseStore, StoredResponse } from './response-store';
import { serveLlmCall, type ServedAnswer } from './serve';
import { readAll, upstreamUrl } from './upstream';
import { upstreamPathFor } from '../providers/upstream-path';
import { DEFAULT_MAX_TOKENS } from '../providers/anthropic/translate-request';

type Item = Record<string, unknown>;

export interface ResponsesBody extends Record<string, unknown> {
  model: string;
  input?: unknown;
  stream?: boolean | null;
  store?: boolean | null;
  previous_response_id?: string | null;
}

/** The input as items, each with an id (input_items lists them by id). */
function inputItems(input: unknown): Item[] {
  const items: unknown[] = typeof input === 'string' ? [{ type: 'message', role: 'user', content: input }] : Array.isArray(input) ? input : [];
  return items.filter(isRecord).map((item) => ({ id: responseItemId('msg'), type: 'message', ...item }));
}

/** Output items of an earlier turn as input of the next (their ids go: they name nothing upstream). */
function asInput(output: unknown): Item[] {
  return Array.isArray(output) ? output.filter(isRecord).map(({ id: _id, status: _status, ...rest }) => rest) : [];
}

function continuedOn(resolved: ResolvedModel, keep: (t: ModelTarget) => boolean, why: string, ctx: AppContext, deps: Deps): Promise<ResolvedModel> | ResolvedModel {
  const targets = resolved.targets.filter(keep);
  if (targets.length > 0) return { ...resolved, targets };
  return refused(ctx, deps, 'responses', new AppError('invalid_request', why, { param: 'previous_response_id' }));
}

export async function createResponse(ctx: AppContext, deps: Deps, agents: UpstreamAgents, store: ResponseStore, body: ResponsesBody): Promise<void> {
  const principal = principalOf(ctx);
  let resolved = await admitModel(ctx, deps, 'responses', 'chat', body.model);
  const previousId = typeof body.previous_response_id === 'string' ? body.previous_response_id : null;
  const previous = previousId ? await store.find(previousId, principal.userId) : null;
  if (previousId && !previous) {
    await refused(ctx, deps, 'responses', new AppError('invalid_request', `Previous response with id '${previousId}' not found.`, { param: 'previous_response_id' }));
  }

  // What the conversation's input is, and where it may continue.
  let upstreamBody: Record<string, unknown> = body;
  let conversation: Item[] = inputItems(body.input);
  if (previous?.translated) {
    resolved = await continuedOn(resolved, (t) => t.protocol !== 'openai', `Response '${previous.id}' was translated by the gateway; continue it with a model that is translated too (not an OpenAI-protocol model)`, ctx, deps);
    conversation = [...(previous.input ?? []), ...asInput(previous.response?.output), ...conversation];
    upstreamBody = { ...body, input: conversation };
  } else if (previous) {
    resolved = await continuedOn(resolved, (t) => t.service === previous.service, `Response '${previous.id}' is stored by service '${previous.service}'; continue it with a model of that service`, ctx, deps);
  }

  const storeIt = body.store !== false;
  const translatedId = responseItemId('resp');
  const save = (served: ServedAnswer, translated: boolean, id: string | null, response: Item | null) => {
    if (!storeIt || !id) return Promise.resolve();
    const row: StoredResponse = {
      id,
      userId: principal.userId,
      gatewayKeyId: principal.keyId,
      walletEntryId: served.entry.id,
      service: served.target.service,
      model: served.target.model,
      translated,
      input: translated ? conversation : null,
      response: translated ? response : null,
    };
    return store.save(row).catch((err) => deps.logger.error({ err, responseId: id }, 'could not store a response'));
  };

  await serveLlmCall(ctx, deps, agents, {
    surface: 'responses',
    body: upstreamBody,
    resolved,
    stream: body.stream === true,
    clientWantsStreamUsage: false,
    clientHeaders: {},
    promptTokensEstimate:
      estimatePromptTokens([{ content: JSON.stringify(upstreamBody.input ?? '') }]) + estimateTokens(String(body.instructions ?? '')) + (body.tools ? estimateTokens(JSON.stringify(body.tools)) : 0),
    maxOutputTokens: positiveInt(body.max_output_tokens) ?? DEFAULT_MAX_TOKENS,
    webSearchesEstimate: webSearchesEstimate(body),
    pinnedEntryId: previous && !previous.translated ? previous.walletEntryId : undefined,
    responseId: translatedId,
    onServed: async (served) => {
      const translated = served.target.protocol !== 'openai';
      if (served.answer) {
        if (served.answer.status >= 300) return;
        const answer = served.answer.body;
        const object = Buffer.isBuffer(answer) ? parseObject(answer) : (answer as Item);
        await save(served, translated, typeof object?.id === 'string' ? object.id : null, object);
        return;
      }
      const stream = served.stream as { responseId?: string | null } | null;
      await save(served, translated, translated ? translatedId : (stream?.responseId ?? null), null);
    },
    onStreamEnd: async (served) => {
      const final = served.stream?.responseObject;
      if (served.target.protocol !== 'openai' && final) await save(served, true, translatedId, scrubJson(final, served.needles));
    },
  });
}

function parseObject(body: Buffer): Item | null {
  try {
    const parsed = JSON.parse(body.toString('utf8')) as unknown;
    return isRecord(parsed) ? parsed : null;
  } catch {
    return null;
  }
}

export type ResponseOperation = 'retrieve' | 'delete' | 'input_items';

/** GET, DELETE and input_items of a stored response: from the gateway's store, or from the entry that holds it. */
export async function operateOnResponse(ctx: AppContext, deps: Deps, agents: UpstreamAgents, store: ResponseStore, id: string, op: ResponseOperation): Promise<void> {
  const principal = principalOf(ctx);
  await runGatewayCall(ctx, deps, { surface: 'responses', estimate: { tokens: 0, costMicros: 0 } }, async (call) => {
    assertScope(principal, 'chat');
    const found = await store.find(id, principal.userId);
    if (!found) throw new AppError('not_found', `Response with id '${id}' not found.`);
    call.service = found.service;
    call.model = found.model;
    if (found.translated) {
      ctx.body = storedAnswer(found, op);
      if (op === 'delete') await store.remove(id, principal.userId);
      return;
    }
    const path = `/v1/responses/${encodeURIComponent(id)}${op === 'input_items' ? '/input_items' : ''}${op === 'input_items' ? ctx.search : ''}`;
    const method = op === 'delete' ? 'DELETE' : 'GET';
    const served = await deps.router.route(
      { service: found.service, environment: principal.environment, team: principal.team, model: found.model, quotaCost: { requests: 1, tokens: 0, creditsMicros: 0 }, pinnedEntryId: found.walletEntryId, maxAttempts: 1 },
      async (a): Promise<AttemptOutcome<{ status: number; body: Buffer; needles: SecretNeedles }>> => {
        const sent = await forward(agents, { service: a.service, secret: a.secret, url: upstreamUrl(a.service.baseUrl, upstreamPathFor(a.service, a.entry, path, found.model)), method, headers: { accept: 'application/json' }, body: null, signal: a.signal }, deps.clock.now());
        if (sent.kind !== 'ok') return sent;
        const bytes = await readAll(sent.value.body);
        // a 2xx that is not JSON (an HTML page) is an upstream failure, as on every /v1 call
        if (sent.value.status < 300 && sent.value.status !== 204 && !parseObject(bytes)) return { kind: 'retry', reason: 'server_error', status: sent.value.status };
        // a 401/403 about a client-named response id is the answer; the credential check judges the key
        return { kind: 'ok', value: { status: sent.value.status, body: bytes, needles: needlesFor(a.secret) }, status: sent.value.status, credentialSuspect: sent.credentialSuspect };
      },
      call,
    );
    ctx.res.setHeader('x-keywallet-provider-key', served.entry.id);
    const { status, body, needles } = served.value;
    if (status >= 300) {
      const mapped = openaiAdapter.mapError({ surface: 'responses', body: {}, model: found.model, stream: false, clientWantsStreamUsage: false, clientHeaders: {}, anthropicVersion: '' }, status, body);
      ctx.status = mapped.status;
      ctx.body = scrubJson(mapped.body, needles);
      return;
    }
    if (op === 'delete') await store.remove(id, principal.userId);
    ctx.status = status;
    ctx.type = 'application/json';
    ctx.body = scrubBytes(body, needles);
  });
}

function storedAnswer(found: StoredResponse, op: ResponseOperation): unknown {
  if (op === 'delete') return { id: found.id, object: 'response', deleted: true };
  if (op === 'retrieve') return found.response ?? { id: found.id, object: 'response', status: 'in_progress', model: found.model, output: [] };
  const data = [...(found.input ?? [])].reverse();
  return { object: 'list', data, first_id: data[0]?.id ?? null, last_id: data.at(-1)?.id ?? null, has_more: false };
}
