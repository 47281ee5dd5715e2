/**
 * Where an LLM surface's path (`/v1/chat/completions`…) lives on a given service and wallet entry:
 * - Azure OpenAI (`metadata.protocol: 'azure'`): `/openai/deployments/<deployment>/<rest>?api-version=<v>`, the
 *   deployment looked up in the wallet entry's `metadata.deployments` map by model (the model name itself when
 *   absent), the version from the service's `metadata.apiVersion`;
 * - a service with `metadata.llmPathPrefix` (Groq's `/openai/v1`, Gemini's `/v1beta/openai`…): the prefix
 *   replaces `/v1`;
 * - anything else: as is (a base URL ending in /v1 is handled by upstreamUrl).
 */
import { isRecord } from './anthropic/translation-error';

export const DEFAULT_AZURE_API_VERSION = '2024-10-21';

export interface PathService {
  metadata?: Record<string, unknown> | null;
}

export interface PathEntry {
  metadata?: Record<string, unknown> | null;
}

export function upstreamPathFor(service: PathService, entry: PathEntry, path: string, model: string): string {
  const meta = service.metadata;
  if (!meta) return path;
  const rest = path.startsWith('/v1/') ? path.slice(3) : path;
  if (meta.protocol === 'azure') {
    const deployments = isRecord(entry.metadata?.deployments) ? entry.metadata.deployments : {};
    const deployment = typeof deployments[model] === 'string' ? deployments[model] : model;
    const version = typeof meta.apiVersion === 'string' && meta.apiVersion !== '' ? meta.apiVersion : DEFAULT_AZURE_API_VERSION;
    return `/openai/deployments/${encodeURIComponent(deployment)}${rest}?api-version=${encodeURIComponent(version)}`;
  }
  if (typeof meta.llmPathPrefix === 'string' && meta.llmPathPrefix.startsWith('/')) return meta.llmPathPrefix.replace(/\/+$/, '') + rest;
  return path;
}
