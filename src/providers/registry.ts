/**
 * Which adapter speaks to which LLM service. The built-in services are known by slug; any other LLM service
 * names its protocol in `metadata.protocol` ('openai' | 'anthropic') and defaults to OpenAI's, which is what
 * self-hosted servers (vLLM, Ollama, LM Studio) and most gateways speak. Azure OpenAI (`protocol: 'azure'`) speaks
 * OpenAI's protocol under deployment URLs: ./upstream-path.ts places its paths.
 */
import { anthropicAdapter } from './anthropic/adapter';
import { openaiAdapter } from './openai/adapter';
import type { LlmProtocol, ProviderAdapter } from './types';

export const PROVIDERS: Readonly<Record<LlmProtocol, ProviderAdapter>> = {
  openai: openaiAdapter,
  anthropic: anthropicAdapter,
};

const BUILTIN_PROTOCOLS: Readonly<Record<string, LlmProtocol>> = { openai: 'openai', anthropic: 'anthropic' };

export interface LlmServiceDescriptor {
  slug: string;
  kind: string;
  metadata?: Record<string, unknown> | null;
}

export function isLlmProtocol(value: unknown): value is LlmProtocol {
  return typeof value === 'string' && Object.prototype.hasOwnProperty.call(PROVIDERS, value);
}

/** The protocol an LLM service speaks; null for a REST service. */
export function protocolOf(service: LlmServiceDescriptor): LlmProtocol | null {
  if (service.kind !== 'llm') return null;
  const declared = service.metadata?.protocol;
  if (isLlmProtocol(declared)) return declared;
  return BUILTIN_PROTOCOLS[service.slug] ?? 'openai';
}

export function adapterFor(protocol: LlmProtocol): ProviderAdapter {
  return PROVIDERS[protocol];
}
