/**
 * The rest of what an OpenAI-compatible upstream answers: legacy completions (JSON and SSE), moderations and
 * image generations, and the URL shapes of the providers that speak OpenAI's protocol under other paths
 * (Azure deployments with api-version, Groq's /openai/v1, OpenRouter's /api/v1, Gemini's /v1beta/openai).
 */
import type { MockReply } from './server';
import { countTokens, splitPieces, sseData, textOf, truncateReply } from './text';
import type { RecordedRequest } from './types';

function header(req: RecordedRequest, name: string): string | null {
  const value = req.headers[name];
  return (Array.isArray(value) ? value[0] : value) ?? null;
}

/**
 * Where the request landed, as the path the mock's OpenAI routes know, with the credential that provider reads
 * (Azure: `api-key`; Gemini: `x-goog-api-key`; the rest: Bearer). An error when the shape is wrong.
 */
export function normalizePath(req: RecordedRequest): { path: string; bearer: boolean; credential: string | null } | { error: string } {
  const azure = /^\/openai\/deployments\/([^/]+)(\/.*)$/.exec(req.path);
  if (azure) {
    if (!req.query['api-version']) return { error: 'Missing api-version query parameter' };
    return { path: `/v1${azure[2]}`, bearer: false, credential: header(req, 'api-key') };
  }
  if (req.path.startsWith('/v1beta/openai/')) return { path: `/v1/${req.path.slice(15)}`, bearer: false, credential: header(req, 'x-goog-api-key') };
  for (const prefix of ['/openai/v1/', '/api/v1/']) {
    if (req.path.startsWith(prefix)) return { path: `/v1/${req.path.slice(prefix.length)}`, bearer: true, credential: req.credential };
  }
  return { path: req.path, bearer: true, credential: req.credential };
}

export function completionReply(body: Record<string, unknown>, seq: number): MockReply {
  const prompt = Array.isArray(body.prompt) ? body.prompt.map(String).join('') : String(body.prompt ?? '');
  const n = typeof body.n === 'number' ? body.n : 1;
  const cut = truncateReply(`mock-openai completion of: ${prompt}`, typeof body.max_tokens === 'number' ? body.max_tokens : 16, []);
  const finish = cut.stoppedBy === 'length' ? 'length' : 'stop';
  const usage = { prompt_tokens: countTokens(prompt), completion_tokens: countTokens(cut.text) * n, total_tokens: countTokens(prompt) + countTokens(cut.text) * n };
  const envelope = { id: `cmpl-mock${seq}`, object: 'text_completion', created: 1_765_000_000, model: body.model };
  if (body.stream !== true) {
    const choices = Array.from({ length: n }, (_, index) => ({ text: cut.text, index, logprobs: null, finish_reason: finish }));
    return { kind: 'json', status: 200, body: { ...envelope, choices, usage } };
  }
  const chunks = splitPieces(cut.text, 4).map((text) => sseData({ ...envelope, choices: [{ text, index: 0, logprobs: null, finish_reason: null }] }));
  chunks.push(sseData({ ...envelope, choices: [{ text: '', index: 0, logprobs: null, finish_reason: finish }] }));
  const options = body.stream_options as { include_usage?: boolean } | undefined;
  if (options?.include_usage) chunks.push(sseData({ ...envelope, choices: [], usage }));
  chunks.push(sseData('[DONE]'));
  return { kind: 'stream', status: 200, contentType: 'text/event-stream; charset=utf-8', chunks };
}

export function moderationReply(body: Record<string, unknown>, seq: number): MockReply {
  const inputs = Array.isArray(body.input) ? body.input : [body.input];
  const results = inputs.map((input) => {
    const flagged = /\bkill\b/i.test(typeof input === 'string' ? input : textOf([input]));
    return { flagged, categories: { violence: flagged, harassment: false }, category_scores: { violence: flagged ? 0.93 : 0.01, harassment: 0.01 } };
  });
  return { kind: 'json', status: 200, body: { id: `modr-mock${seq}`, model: body.model ?? 'omni-moderation-latest', results } };
}

/** A 1×1 PNG per image; gpt-image models report token usage, dall-e ones none (they are priced per image). */
export function imageReply(body: Record<string, unknown>): MockReply {
  const n = typeof body.n === 'number' ? body.n : 1;
  const png = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==';
  const data = Array.from({ length: n }, () => ({ b64_json: png }));
  const reply: Record<string, unknown> = { created: 1_765_000_000, data };
  if (String(body.model).startsWith('gpt-image')) {
    const input = countTokens(String(body.prompt ?? ''));
    reply.usage = { input_tokens: input, output_tokens: 272 * n, total_tokens: input + 272 * n, input_tokens_details: { text_tokens: input, image_tokens: 0 } };
  }
  return { kind: 'json', status: 200, body: reply };
}
