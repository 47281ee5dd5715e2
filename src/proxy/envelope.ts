import { z } from 'zod';
import { AppError } from '../http/errors';
import type { GatewayPrincipal } from '../keys/principal';
import type { Service } from '../services/service';

/** `POST /proxy`: one upstream call described as JSON. */

const HEADER_NAME = /^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,128}$/;
const HEADER_VALUE = /^[^\r\n\0]{0,8192}$/;
// no NUL in what the gateway itself puts on the upstream request line (the body is the caller's business)
const noNul = (s: string) => !s.includes('\0');
const scalar = z.union([z.string().max(4096).refine(noNul, 'must not contain NUL characters'), z.number(), z.boolean()]);
export const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'] as const;

export const envelopeSchema = z
  .object({
    service: z.string().regex(/^[a-z0-9][a-z0-9-]{1,40}$/, 'must be a service slug').optional(),
    endpoint: z.string().min(1).max(2048),
    method: z
      .string()
      .transform((m) => m.toUpperCase())
      .pipe(z.enum(METHODS))
      .default('GET'),
    query: z.record(z.string().min(1).max(256).refine(noNul, 'must not contain NUL characters'), z.union([scalar, z.array(scalar).max(100)])).optional(),
    headers: z
      .record(z.string().regex(HEADER_NAME, 'must be a header name'), z.string().regex(HEADER_VALUE, 'must be a header value'))
      .optional(),
    body: z.unknown().optional(),
  })
  .strict();

export type Envelope = z.output<typeof envelopeSchema>;

/**
 * The service of an envelope: `service`, else the `X-Service-Hint` header, else the only REST service the
 * caller's key and plan allow. Anything else asks for `service`.
 */
export function envelopeService(envelope: Envelope, hint: string, principal: GatewayPrincipal, services: readonly Service[]): string {
  if (envelope.service) return envelope.service;
  if (hint) return hint.trim().toLowerCase();
  const allowed = services.filter(
    (s) =>
      s.kind === 'rest' &&
      s.enabled &&
      (!principal.services || principal.services.includes(s.slug)) &&
      (!principal.plan.services || principal.plan.services.includes(s.slug)) &&
      (!principal.team?.services || principal.team.services.includes(s.slug)),
  );
  if (allowed.length === 1) return allowed[0].slug;
  throw new AppError('invalid_request', 'Name the upstream service: "service" in the body or the X-Service-Hint header', { param: 'service' });
}

function appendForm(form: URLSearchParams, key: string, value: unknown): void {
  if (value === undefined || value === null) return;
  if (Array.isArray(value)) value.forEach((v, i) => appendForm(form, `${key}[${i}]`, v));
  else if (typeof value === 'object') for (const [k, v] of Object.entries(value)) appendForm(form, `${key}[${k}]`, v);
  else form.append(key, String(value));
}

/**
 * The upstream body and its content type. JSON values go as JSON, unless the caller's content type asks for a
 * form (Stripe-style APIs): objects are then form-encoded with bracketed keys (`metadata[order]=6735`).
 */
export function envelopeBody(envelope: Envelope): { body: Buffer | null; contentType: string | null } {
  const given = Object.entries(envelope.headers ?? {}).find(([k]) => k.toLowerCase() === 'content-type')?.[1] ?? null;
  const value = envelope.body;
  if (value === undefined || value === null || envelope.method === 'GET' || envelope.method === 'HEAD') {
    return { body: null, contentType: null };
  }
  if (typeof value === 'string') return { body: Buffer.from(value), contentType: given ?? 'text/plain; charset=utf-8' };
  if (given && /application\/x-www-form-urlencoded/i.test(given) && typeof value === 'object') {
    const form = new URLSearchParams();
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) appendForm(form, k, v);
    return { body: Buffer.from(form.toString()), contentType: given };
  }
  return { body: Buffer.from(JSON.stringify(value)), contentType: given ?? 'application/json' };
}
