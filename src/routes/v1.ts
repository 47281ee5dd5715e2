import { z } from 'zod';
import type { Deps } from '../deps';
import type { Api } from '../http/api';
import { UpstreamAgents } from '../proxy/forward';
import { chatBodyAccepts, embeddingsBodyAccepts, messagesBodyAccepts } from '../llm/body-checks';
import { anthropicMessages, chatCompletions, completions, countMessageTokens, embeddings, listModelsForKey, openaiJsonSurface, refusedAs, retrieveModelForKey } from '../llm/handlers';
import { ResponseStore } from '../llm/response-store';
import { speech, uploadSurface } from '../llm/media';
import { createResponse, operateOnResponse } from '../llm/responses';

/**
 * The OpenAI- and Anthropic-compatible public API. Bodies are validated only as far as the gateway needs
 * them (model, messages, stream); everything else passes to the provider, which judges it. Errors use
 * OpenAI's shape, and Anthropic's on /v1/messages (http/error-handler.ts decides by path).
 * An answer's `model` is the concrete model that served it (as OpenAI reports `gpt-4o-2024-08-06` for `gpt-4o`),
 * also after an alias fell back; `x-keywallet-model` says `service/model`.
 */

// a NUL would reach the usage ledger (PostgreSQL text cannot hold one) and the upstream's URL or body
const noNul = (s: string) => !s.includes('\0');
const modelName = z.string().trim().min(1).max(256).refine(noNul, 'must not contain NUL characters');

export const chatCompletionBody = z.looseObject({
  model: modelName,
  messages: z.array(z.looseObject({ role: z.string().min(1) })).min(1),
  stream: z.boolean().nullable().optional(),
  stream_options: z.looseObject({ include_usage: z.boolean().optional() }).nullable().optional(),
  max_tokens: z.number().int().positive().nullable().optional(),
  max_completion_tokens: z.number().int().positive().nullable().optional(),
});

export const messagesBody = z.looseObject({
  model: modelName,
  messages: z.array(z.looseObject({ role: z.string().min(1) })),
  max_tokens: z.number().int().positive(),
  stream: z.boolean().optional(),
});

export const countTokensBody = z.looseObject({
  model: modelName,
  messages: z.array(z.looseObject({ role: z.string().min(1) })),
});

export const responsesBody = z.looseObject({
  model: modelName,
  input: z.union([z.string(), z.array(z.looseObject({}))]).optional(),
  instructions: z.string().nullable().optional(),
  stream: z.boolean().nullable().optional(),
  store: z.boolean().nullable().optional(),
  previous_response_id: z.string().min(1).max(256).refine(noNul, 'must not contain NUL characters').nullable().optional(),
  max_output_tokens: z.number().int().positive().nullable().optional(),
  tools: z.array(z.looseObject({ type: z.string().min(1) })).optional(),
});

const responseParams = z.object({ id: z.string().min(1).max(256).refine(noNul, 'must not contain NUL characters') });

const textOrTokens = z.union([z.string(), z.array(z.string()).min(1), z.array(z.number().int()).min(1), z.array(z.array(z.number().int()).min(1)).min(1)]);

export const completionsBody = z.looseObject({
  model: modelName,
  prompt: textOrTokens.optional(),
  stream: z.boolean().nullable().optional(),
  max_tokens: z.number().int().positive().nullable().optional(),
  n: z.number().int().min(1).max(128).nullable().optional(),
});

export const moderationsBody = z.looseObject({
  model: modelName.default('omni-moderation-latest'),
  input: z.union([z.string(), z.array(z.union([z.string(), z.looseObject({ type: z.string() })])).min(1)]),
});

export const speechBody = z.looseObject({
  model: modelName,
  input: z.string().min(1).max(4096),
  voice: z.union([z.string().min(1).max(64), z.looseObject({ id: z.string() })]),
});

export const imagesBody = z.looseObject({
  model: modelName.default('dall-e-2'),
  prompt: z.string().min(1).max(32_000),
  n: z.number().int().min(1).max(10).nullable().optional(),
  stream: z.literal(false).nullable().optional(),
});

export const embeddingsBody = z.looseObject({
  model: modelName,
  input: z.union([z.string(), z.array(z.string()).min(1), z.array(z.number().int()).min(1), z.array(z.array(z.number().int()).min(1)).min(1)]),
});

const modelParams = z.object({ model: modelName });

/** The fixed-path routes are `fast`: the app's fast lane serves them without the generic middleware. */
export function v1Routes(deps: Deps, api: (tag: string) => Api) {
  // Pooled keep-alive connections to the providers, shared by every /v1 request of this app.
  const agents = new UpstreamAgents();
  deps.closers.push(() => agents.close());
  const responses = new ResponseStore(deps.db, deps.clock);
  return api('LLM (OpenAI / Anthropic compatible)')
    .route(
      {
        method: 'post',
        path: '/v1/chat/completions',
        summary: 'OpenAI Chat Completions (streaming and not) on any model, alias or service/model; Anthropic models are translated',
        auth: 'gateway',
        body: chatCompletionBody,
        bodyAccepts: chatBodyAccepts,
        refused: refusedAs(deps, 'chat'),
        fast: true,
      },
      (ctx, { body, rawBody }) => chatCompletions(ctx, deps, agents, body, rawBody),
    )
    .route(
      {
        method: 'post',
        path: '/v1/messages',
        summary: 'Anthropic Messages API, native (streaming and not); x-api-key or Bearer; anthropic-version and anthropic-beta are forwarded',
        auth: 'gateway',
        body: messagesBody,
        bodyAccepts: messagesBodyAccepts,
        refused: refusedAs(deps, 'messages'),
        fast: true,
      },
      (ctx, { body, rawBody }) => anthropicMessages(ctx, deps, agents, body, rawBody),
    )
    .route(
      {
        method: 'post',
        path: '/v1/messages/count_tokens',
        summary: 'Anthropic token counting on an Anthropic model or alias (not billed); x-api-key or Bearer',
        auth: 'gateway',
        body: countTokensBody,
        refused: refusedAs(deps, 'count_tokens'),
      },
      (ctx, { body }) => countMessageTokens(ctx, deps, agents, { ...body, max_tokens: 1 }),
    )
    .route(
      {
        method: 'post',
        path: '/v1/responses',
        summary: 'OpenAI Responses API (streaming and not) on any model; Anthropic models are translated; previous_response_id continues on the entry that holds the response',
        auth: 'gateway',
        body: responsesBody,
        refused: refusedAs(deps, 'responses'),
      },
      (ctx, { body }) => createResponse(ctx, deps, agents, responses, body),
    )
    .route(
      { method: 'get', path: '/v1/responses/:id', summary: 'A stored response (own responses only)', auth: 'gateway', params: responseParams, refused: refusedAs(deps, 'responses') },
      (ctx, { params }) => operateOnResponse(ctx, deps, agents, responses, params.id, 'retrieve'),
    )
    .route(
      { method: 'delete', path: '/v1/responses/:id', summary: 'Delete a stored response', auth: 'gateway', params: responseParams, refused: refusedAs(deps, 'responses') },
      (ctx, { params }) => operateOnResponse(ctx, deps, agents, responses, params.id, 'delete'),
    )
    .route(
      { method: 'get', path: '/v1/responses/:id/input_items', summary: "A stored response's input items", auth: 'gateway', params: responseParams, refused: refusedAs(deps, 'responses') },
      (ctx, { params }) => operateOnResponse(ctx, deps, agents, responses, params.id, 'input_items'),
    )
    .route(
      { method: 'post', path: '/v1/completions', summary: 'OpenAI legacy Completions (streaming and not), OpenAI-protocol models', auth: 'gateway', body: completionsBody, refused: refusedAs(deps, 'completions') },
      (ctx, { body }) => completions(ctx, deps, agents, body),
    )
    .route(
      { method: 'post', path: '/v1/moderations', summary: 'OpenAI Moderations', auth: 'gateway', body: moderationsBody, refused: refusedAs(deps, 'moderations') },
      (ctx, { body }) => openaiJsonSurface(ctx, deps, agents, 'moderations', body, body.input),
    )
    .route(
      { method: 'post', path: '/v1/images/generations', summary: 'OpenAI image generation (JSON answers: URLs or base64)', auth: 'gateway', body: imagesBody, refused: refusedAs(deps, 'images') },
      (ctx, { body }) => openaiJsonSurface(ctx, deps, agents, 'images', body, body.prompt),
    )
    .route(
      { method: 'post', path: '/v1/audio/transcriptions', summary: 'OpenAI transcription (multipart upload, streamed to disk, never held in memory)', auth: 'gateway' },
      (ctx) => uploadSurface(ctx, deps, agents, '/v1/audio/transcriptions'),
    )
    .route(
      { method: 'post', path: '/v1/audio/translations', summary: 'OpenAI audio translation to English (multipart upload)', auth: 'gateway' },
      (ctx) => uploadSurface(ctx, deps, agents, '/v1/audio/translations'),
    )
    .route(
      { method: 'post', path: '/v1/images/edits', summary: 'OpenAI image edits (multipart upload of images and a mask)', auth: 'gateway' },
      (ctx) => uploadSurface(ctx, deps, agents, '/v1/images/edits'),
    )
    .route(
      { method: 'post', path: '/v1/audio/speech', summary: 'OpenAI text to speech: the audio is streamed back as it is generated', auth: 'gateway', body: speechBody, refused: refusedAs(deps, 'speech') },
      (ctx, { body }) => speech(ctx, deps, agents, body),
    )
    .route(
      {
        method: 'post',
        path: '/v1/embeddings',
        summary: 'OpenAI Embeddings',
        auth: 'gateway',
        body: embeddingsBody,
        bodyAccepts: embeddingsBodyAccepts,
        refused: refusedAs(deps, 'embeddings'),
        fast: true,
      },
      (ctx, { body, rawBody }) => embeddings(ctx, deps, agents, body, rawBody),
    )
    .route(
      { method: 'get', path: '/v1/models', summary: 'The models and aliases this key may use (OpenAI list format)', auth: 'gateway', fast: true },
      (ctx) => listModelsForKey(ctx, deps),
    )
    .route(
      {
        method: 'get',
        path: '/v1/models/:model',
        summary: 'One model or alias this key may use',
        auth: 'gateway',
        params: modelParams,
        refused: refusedAs(deps, 'models'),
      },
      (ctx, { params }) => retrieveModelForKey(ctx, deps, params.model),
    ).router;
}
