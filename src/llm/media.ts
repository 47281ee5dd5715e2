/**
 * Audio and image uploads (multipart, spooled to disk by ./multipart.ts, a fresh stream per upstream attempt) and
 * text-to-speech (JSON in, the audio bytes streamed back as they come). OpenAI-protocol models only.
 */
import type { Deps } from '../deps';
import type { AppContext } from '../http/context';
import { AppError } from '../http/errors';
import { estimateTokens } from '../providers/tokens';
import type { UpstreamAgents } from '../proxy/forward';
import { admitModel, principalOf, refused } from './handlers';
import { spoolMultipart, type SpooledForm } from './multipart';
import { serveLlmCall } from './serve';

export type UploadPath = '/v1/audio/transcriptions' | '/v1/audio/translations' | '/v1/images/edits';

export async function uploadSurface(ctx: AppContext, deps: Deps, agents: UpstreamAgents, path: UploadPath): Promise<void> {
  principalOf(ctx);
  const surface = path === '/v1/images/edits' ? 'images' : 'audio';
  let form: SpooledForm;
  try {
    form = await spoolMultipart(ctx.req, deps.config.uploadLimitBytes);
  } catch (err) {
    if (err instanceof AppError) return refused(ctx, deps, surface, err);
    throw err;
  }
  try {
    const model = form.field('model') ?? (surface === 'images' ? 'dall-e-2' : undefined);
    if (!model) return await refused(ctx, deps, surface, new AppError('invalid_request', "Missing required parameter: 'model'", { param: 'model' }));
    if (form.files.length === 0) return await refused(ctx, deps, surface, new AppError('invalid_request', 'The request carries no file', { param: surface === 'images' ? 'image' : 'file' }));
    const resolved = await admitModel(ctx, deps, surface, 'chat', model, { protocols: ['openai'], surfaceName: path });
    await serveLlmCall(ctx, deps, agents, {
      surface,
      body: { model },
      resolved,
      stream: false,
      clientWantsStreamUsage: false,
      clientHeaders: {},
      promptTokensEstimate: estimateTokens(form.field('prompt') ?? ''),
      maxOutputTokens: 0,
      upload: { path, form },
    });
  } finally {
    await form.discard();
  }
}

export interface SpeechBody extends Record<string, unknown> {
  model: string;
  input: string;
}

export async function speech(ctx: AppContext, deps: Deps, agents: UpstreamAgents, body: SpeechBody): Promise<void> {
  const resolved = await admitModel(ctx, deps, 'speech', 'chat', body.model, { protocols: ['openai'], surfaceName: '/v1/audio/speech' });
  await serveLlmCall(ctx, deps, agents, {
    surface: 'speech',
    body,
    resolved,
    stream: false,
    clientWantsStreamUsage: false,
    clientHeaders: {},
    promptTokensEstimate: estimateTokens(body.input),
    maxOutputTokens: 0,
    // speech is priced per character of input, which the provider does not report back
    units: { characters: body.input.length },
  });
}
