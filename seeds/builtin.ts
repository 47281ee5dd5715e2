import type { Knex } from 'knex';
import { BUILTIN_KEY_PATTERNS as P } from '../src/wallet/detect';

/** Built-in services, plans, model aliases and prices. Inserted when missing; an admin's later edits are kept. */

const M = 1_000_000; // micro-USD per USD

export const BUILTIN_SERVICES = [
  { slug: 'openai', name: 'OpenAI', kind: 'llm', base_url: 'https://api.openai.com', auth: { type: 'bearer' }, key_pattern: P.openai, cost_per_call_micros: 0 },
  { slug: 'anthropic', name: 'Anthropic', kind: 'llm', base_url: 'https://api.anthropic.com', auth: { type: 'header', name: 'x-api-key' }, key_pattern: P.anthropic, cost_per_call_micros: 0 },
  { slug: 'stripe', name: 'Stripe', kind: 'rest', base_url: 'https://api.stripe.com', auth: { type: 'bearer' }, key_pattern: P.stripe, cost_per_call_micros: 0 },
  { slug: 'openweather', name: 'OpenWeather', kind: 'rest', base_url: 'https://api.openweathermap.org', auth: { type: 'query', name: 'appid' }, key_pattern: P.openweather, cost_per_call_micros: 100 },
  { slug: 'googlemaps', name: 'Google Maps', kind: 'rest', base_url: 'https://maps.googleapis.com', auth: { type: 'query', name: 'key' }, key_pattern: P.googlemaps, cost_per_call_micros: 5000 },
  // OpenAI-compatible providers: /v1 surfaces go to `llmPathPrefix` under the base URL; /proxy/<slug> reaches the
  // base URL itself (Gemini's native generateContent, say). No pattern where a format is not distinctive.
  { slug: 'gemini', name: 'Google Gemini', kind: 'llm', base_url: 'https://generativelanguage.googleapis.com', auth: { type: 'header', name: 'x-goog-api-key' }, key_pattern: null, cost_per_call_micros: 0, metadata: { protocol: 'openai', llmPathPrefix: '/v1beta/openai' } },
  { slug: 'groq', name: 'Groq', kind: 'llm', base_url: 'https://api.groq.com', auth: { type: 'bearer' }, key_pattern: P.groq, cost_per_call_micros: 0, metadata: { protocol: 'openai', llmPathPrefix: '/openai/v1' } },
  { slug: 'mistral', name: 'Mistral', kind: 'llm', base_url: 'https://api.mistral.ai', auth: { type: 'bearer' }, key_pattern: null, cost_per_call_micros: 0, metadata: { protocol: 'openai' } },
  { slug: 'deepseek', name: 'DeepSeek', kind: 'llm', base_url: 'https://api.deepseek.com', auth: { type: 'bearer' }, key_pattern: null, cost_per_call_micros: 0, metadata: { protocol: 'openai' } },
  { slug: 'xai', name: 'xAI', kind: 'llm', base_url: 'https://api.x.ai', auth: { type: 'bearer' }, key_pattern: P.xai, cost_per_call_micros: 0, metadata: { protocol: 'openai' } },
  { slug: 'together', name: 'Together AI', kind: 'llm', base_url: 'https://api.together.xyz', auth: { type: 'bearer' }, key_pattern: null, cost_per_call_micros: 0, metadata: { protocol: 'openai' } },
  { slug: 'openrouter', name: 'OpenRouter', kind: 'llm', base_url: 'https://openrouter.ai', auth: { type: 'bearer' }, key_pattern: P.openrouter, cost_per_call_micros: 0, metadata: { protocol: 'openai', llmPathPrefix: '/api/v1' } },
];

export const BUILTIN_PLANS = [
  { id: 'free', name: 'Free', rpm: 20, rph: 300, rpd: 1000, tpm: 40_000, monthly_credits_micros: 5 * M },
  { id: 'pro', name: 'Pro', rpm: 600, rph: 20_000, rpd: 200_000, tpm: 1_000_000, monthly_credits_micros: 100 * M },
  { id: 'enterprise', name: 'Enterprise', rpm: 6000, rph: 200_000, rpd: 2_000_000, tpm: 10_000_000, monthly_credits_micros: 2000 * M },
];

export const BUILTIN_ALIASES = [
  { alias: 'claude-fast', description: 'Fast and cheap; falls back to OpenAI', targets: [{ service: 'anthropic', model: 'claude-haiku-4-5' }, { service: 'openai', model: 'gpt-5-mini' }] },
  { alias: 'claude-quality', description: 'Balanced; falls back to OpenAI', targets: [{ service: 'anthropic', model: 'claude-sonnet-4-5' }, { service: 'openai', model: 'gpt-5' }] },
  { alias: 'claude-premium', description: 'Most capable; falls back to OpenAI', targets: [{ service: 'anthropic', model: 'claude-opus-4-1' }, { service: 'openai', model: 'gpt-5' }] },
];

/** USD per million tokens (input, output). A trailing '*' prices every model with that prefix. */
export const BUILTIN_PRICES: [string, string, number, number][] = [
  ['claude-haiku-4-5', 'anthropic', 1, 5],
  ['claude-sonnet-4-5', 'anthropic', 3, 15],
  ['claude-opus-4-1', 'anthropic', 15, 75],
  ['claude-*', 'anthropic', 3, 15],
  ['gpt-5', 'openai', 1.25, 10],
  ['gpt-5-mini', 'openai', 0.25, 2],
  ['gpt-4o', 'openai', 2.5, 10],
  ['gpt-4o-mini', 'openai', 0.15, 0.6],
  ['gpt-*', 'openai', 2.5, 10],
  ['text-embedding-3-small', 'openai', 0.02, 0],
  ['text-embedding-3-large', 'openai', 0.13, 0],
  ['omni-moderation-*', 'openai', 0, 0],
  // OpenAI-compatible presets (list prices when they were added; keep them current with `keywallet prices import`)
  ['gemini-2.5-pro', 'gemini', 1.25, 10],
  ['gemini-2.5-flash', 'gemini', 0.3, 2.5],
  ['gemini-*', 'gemini', 0.3, 2.5],
  ['grok-4', 'xai', 3, 15],
  ['grok-*', 'xai', 3, 15],
  ['mistral-large-latest', 'mistral', 2, 6],
  ['mistral-small-latest', 'mistral', 0.1, 0.3],
  ['mistral-*', 'mistral', 2, 6],
  ['deepseek-chat', 'deepseek', 0.28, 0.42],
  ['deepseek-reasoner', 'deepseek', 0.28, 0.42],
  ['llama-3.3-70b-versatile', 'groq', 0.59, 0.79],
];

/**
 * The request that tells whether a key itself is good (routing/credential-probe.ts). Google Maps has none: it answers
 * a bad key with 200 and status REQUEST_DENIED. An OpenWeather lookup answers 401 for a bad appid.
 */
export const BUILTIN_CREDENTIAL_CHECKS: Record<string, { method: 'GET'; path: string; query?: Record<string, string> }> = {
  openai: { method: 'GET', path: '/v1/models' },
  anthropic: { method: 'GET', path: '/v1/models' },
  stripe: { method: 'GET', path: '/v1/balance' },
  openweather: { method: 'GET', path: '/data/2.5/weather', query: { lat: '0', lon: '0' } },
};

/** USD per server-side web search, by price row: $10 per 1,000 searches at Anthropic and OpenAI. */
export const BUILTIN_WEB_SEARCH_PRICES: Record<string, number> = {
  'claude-haiku-4-5': 0.01, 'claude-sonnet-4-5': 0.01, 'claude-opus-4-1': 0.01, 'claude-*': 0.01,
  'gpt-5': 0.01, 'gpt-5-mini': 0.01, 'gpt-4o': 0.01, 'gpt-4o-mini': 0.01, 'gpt-*': 0.01,
};

export async function runBuiltinSeeds(db: Knex): Promise<void> {
  await db('plans').insert(BUILTIN_PLANS.map((p) => ({ ...p, builtin: true }))).onConflict('id').ignore();
  await db('services')
    .insert(
      BUILTIN_SERVICES.map((s) => ({
        ...s,
        auth: JSON.stringify(s.auth),
        metadata: JSON.stringify('metadata' in s ? s.metadata : {}),
        credential_check: s.slug in BUILTIN_CREDENTIAL_CHECKS ? JSON.stringify(BUILTIN_CREDENTIAL_CHECKS[s.slug]) : null,
        builtin: true,
      })),
    )
    .onConflict('slug')
    .ignore();
  await db('model_aliases')
    .insert(BUILTIN_ALIASES.map((a) => ({ ...a, targets: JSON.stringify(a.targets), builtin: true })))
    .onConflict('alias')
    .ignore();
  await db('model_prices')
    .insert(
      BUILTIN_PRICES.map(([model, service, input, output]) => ({
        model, service, input_per_mtok: input, output_per_mtok: output, web_search_per_call: BUILTIN_WEB_SEARCH_PRICES[model] ?? null,
      })),
    )
    .onConflict('model')
    .ignore();
}
