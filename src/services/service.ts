import { z } from 'zod';
import { EndpointRejected, validateEndpoint } from '../proxy/endpoint-guard';
import { isValidPattern } from '../wallet/detect';

/** How the gateway injects a wallet secret into an upstream request. */
export interface ServiceAuth {
  type: 'bearer' | 'header' | 'query' | 'basic';
  /** header or query parameter name (required for `header` and `query`) */
  name?: string;
}

/**
 * The request that asks the provider whether a key itself is good (OpenAI `GET /v1/models`, Stripe
 * `GET /v1/balance`): only its 401/403 marks a wallet entry invalid after a /proxy 401/403 (routing/credential-probe.ts).
 */
export interface CredentialCheck {
  method: 'GET' | 'HEAD' | 'POST';
  /** under the service's base URL, like a /proxy endpoint */
  path: string;
  query?: Record<string, string>;
}

/** One upstream service as the rest of the code sees it (camelCase, money in micro-USD). */
export interface Service {
  slug: string;
  name: string;
  kind: 'llm' | 'rest';
  baseUrl: string;
  auth: ServiceAuth;
  keyPattern: string | null;
  costPerCallMicros: number;
  timeoutMs: number | null;
  allowPrivate: boolean;
  credentialCheck: CredentialCheck | null;
  builtin: boolean;
  enabled: boolean;
  metadata: Record<string, unknown>;
  createdAt: Date;
  updatedAt: Date;
}

export interface ServiceRow {
  slug: string;
  name: string;
  kind: 'llm' | 'rest';
  base_url: string;
  auth: ServiceAuth | string;
  key_pattern: string | null;
  cost_per_call_micros: number;
  timeout_ms: number | null;
  allow_private: boolean;
  credential_check?: CredentialCheck | string | null;
  builtin: boolean;
  enabled: boolean;
  metadata: Record<string, unknown> | string | null;
  created_at: Date;
  updated_at: Date;
}

const json = <T>(v: T | string | null): T | null => (typeof v === 'string' ? (JSON.parse(v) as T) : v);

export function rowToService(r: ServiceRow): Service {
  return {
    slug: r.slug,
    name: r.name,
    kind: r.kind,
    baseUrl: r.base_url,
    auth: json<ServiceAuth>(r.auth) ?? { type: 'bearer' },
    keyPattern: r.key_pattern,
    costPerCallMicros: Number(r.cost_per_call_micros),
    timeoutMs: r.timeout_ms,
    allowPrivate: r.allow_private,
    credentialCheck: json<CredentialCheck>(r.credential_check ?? null),
    builtin: r.builtin,
    enabled: r.enabled,
    metadata: json<Record<string, unknown>>(r.metadata) ?? {},
    createdAt: new Date(r.created_at),
    updatedAt: new Date(r.updated_at),
  };
}

export const MICROS_PER_CREDIT = 1_000_000;

/** The fields of a service that may leave (credits are USD; stored as micro-USD). */
export function presentService(s: Service) {
  return {
    slug: s.slug,
    name: s.name,
    kind: s.kind,
    baseUrl: s.baseUrl,
    auth: s.auth.name ? { type: s.auth.type, name: s.auth.name } : { type: s.auth.type },
    keyPattern: s.keyPattern,
    costPerCall: s.costPerCallMicros / MICROS_PER_CREDIT,
    timeoutMs: s.timeoutMs,
    allowPrivate: s.allowPrivate,
    credentialCheck: s.credentialCheck,
    builtin: s.builtin,
    enabled: s.enabled,
    metadata: s.metadata,
    createdAt: s.createdAt,
    updatedAt: s.updatedAt,
  };
}

export const SLUG_PATTERN = /^[a-z0-9][a-z0-9-]{1,40}$/;
/** Headers the HTTP layer owns: a service may not name one of these as its credential header. */
const RESERVED_HEADERS = new Set(['host', 'content-length', 'transfer-encoding', 'connection', 'upgrade', 'te', 'trailer', 'keep-alive', 'cookie']);

const authSchema = z
  .object({
    type: z.enum(['bearer', 'header', 'query', 'basic']),
    name: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'must be a header or query parameter name').optional(),
  })
  .strict()
  .superRefine((auth, ctx) => {
    if ((auth.type === 'header' || auth.type === 'query') && !auth.name) {
      ctx.addIssue({ code: 'custom', path: ['name'], message: `is required for auth type ${auth.type}` });
    }
    if ((auth.type === 'bearer' || auth.type === 'basic') && auth.name) {
      ctx.addIssue({ code: 'custom', path: ['name'], message: `is not used by auth type ${auth.type}` });
    }
    if (auth.type === 'header' && auth.name && (RESERVED_HEADERS.has(auth.name.toLowerCase()) || auth.name.includes('_'))) {
      ctx.addIssue({ code: 'custom', path: ['name'], message: 'is not a header a credential may be sent in' });
    }
  });

/** http(s) only; credentials, query and fragment would be silently merged into every upstream call. */
export function baseUrlProblem(value: string): string | null {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'must be an absolute http(s) URL';
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return 'must use http or https';
  if (url.username || url.password) return 'must not contain credentials';
  if (url.search || value.includes('?')) return 'must not contain a query string';
  if (url.hash || value.includes('#')) return 'must not contain a fragment';
  return null;
}

const baseUrlSchema = z
  .string()
  .max(2048)
  .superRefine((v, ctx) => {
    const problem = baseUrlProblem(v);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  })
  .transform((v) => new URL(v).href.replace(/\/+$/, ''));

const keyPatternSchema = z
  .string()
  .max(1000)
  .refine(isValidPattern, 'must be a valid regular expression');

/** The keys the gateway itself reads are checked; anything else is the admin's own. */
const metadataSchema = z
  .looseObject({
    /** the wire protocol of an LLM service: OpenAI's (default), Anthropic's, or Azure OpenAI's deployment URLs */
    protocol: z.enum(['openai', 'anthropic', 'azure']).optional(),
    /** replaces /v1 in LLM paths (Groq: /openai/v1) */
    llmPathPrefix: z
      .string()
      .max(200)
      .regex(/^(\/[A-Za-z0-9._~-]+)+$/, 'must be a path like /openai/v1')
      .refine((p) => !p.split('/').includes('..'), 'must not contain ..')
      .optional(),
    /** Azure OpenAI api-version */
    apiVersion: z.string().regex(/^[0-9A-Za-z.-]{1,40}$/, 'must be an API version like 2024-10-21').optional(),
  })
  .refine((m) => JSON.stringify(m).length <= 4096, 'must be at most 4 KB of JSON');

const credentialCheckSchema = z
  .strictObject({
    method: z.enum(['GET', 'HEAD', 'POST']).default('GET'),
    path: z.string().max(512).superRefine((v, ctx) => {
      const problem = endpointProblem(v);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    }),
    query: z.record(z.string().regex(/^[A-Za-z0-9_.\-\[\]]{1,64}$/), z.string().max(256)).refine((q) => Object.keys(q).length <= 10, 'at most 10 parameters').optional(),
  })
  .transform((c): CredentialCheck => ({ method: c.method, path: validateEndpoint(c.path), ...(c.query ? { query: c.query } : {}) }));

function endpointProblem(path: string): string | null {
  if (path.includes('?')) return 'must not contain a query string (use "query")';
  try {
    validateEndpoint(path);
    return null;
  } catch (err) {
    if (err instanceof EndpointRejected) return err.reason;
    throw err;
  }
}

const serviceFields = {
  name: z.string().trim().min(1).max(100),
  kind: z.enum(['llm', 'rest']),
  baseUrl: baseUrlSchema,
  auth: authSchema,
  keyPattern: keyPatternSchema.nullable(),
  /** credits (USD) per call */
  costPerCall: z.number().min(0).max(1000),
  timeoutMs: z.number().int().min(100).max(600_000).nullable(),
  allowPrivate: z.boolean(),
  /** the provider's own "is this key good" request; null = none (a /proxy 401/403 then invalidates nothing) */
  credentialCheck: credentialCheckSchema.nullable(),
  enabled: z.boolean(),
  metadata: metadataSchema,
};

export const createServiceSchema = z
  .object({
    slug: z.string().regex(SLUG_PATTERN, 'must be 2-41 lower-case letters, digits or "-", starting with a letter or digit'),
    ...serviceFields,
    name: serviceFields.name.optional(),
    kind: serviceFields.kind.default('rest'),
    keyPattern: serviceFields.keyPattern.optional(),
    costPerCall: serviceFields.costPerCall.default(0),
    timeoutMs: serviceFields.timeoutMs.optional(),
    allowPrivate: serviceFields.allowPrivate.default(false),
    credentialCheck: serviceFields.credentialCheck.default(null),
    enabled: serviceFields.enabled.default(true),
    metadata: serviceFields.metadata.default({}),
  })
  .strict();

export const updateServiceSchema = z
  .object(serviceFields)
  .partial()
  .strict()
  .refine((v) => Object.keys(v).length > 0, 'nothing to change');

export type CreateServiceInput = z.output<typeof createServiceSchema>;
export type UpdateServiceInput = z.output<typeof updateServiceSchema>;
