import createClient, { type Middleware } from 'openapi-fetch';
import type { paths } from './schema';

/**
 * The console's one API client, typed from the gateway's own /openapi.json (`npm run gen:api` writes
 * schema.d.ts). Same origin, the httpOnly session cookie goes along by itself; the CSRF token the session
 * answered with goes in `x-csrf-token` on every state-changing call. No token is ever stored by the page.
 */
let csrfToken: string | null = null;
let onSessionLost: (() => void) | null = null;

export function setCsrfToken(token: string | null): void {
  csrfToken = token;
}

/** Called when a call answers 401: the session expired or was ended elsewhere. */
export function setSessionLostHandler(handler: (() => void) | null): void {
  onSessionLost = handler;
}

/** An error in the API's own words: `{error: {code, message, details, requestId}}`. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: unknown = null,
    readonly requestId: string | null = null,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

const SAFE = new Set(['GET', 'HEAD', 'OPTIONS']);

const session: Middleware = {
  onRequest({ request }) {
    if (!SAFE.has(request.method) && csrfToken) request.headers.set('x-csrf-token', csrfToken);
    return request;
  },
  onResponse({ response, request }) {
    const isSessionProbe = new URL(request.url).pathname === '/auth/session';
    if (response.status === 401 && !isSessionProbe) onSessionLost?.();
    return response;
  },
};

export const api = createClient<paths>({ baseUrl: window.location.origin, credentials: 'same-origin' });
api.use(session);

export async function toApiError(response: Response, body: unknown): Promise<ApiError> {
  const err = (body as { error?: { code?: string; message?: string; details?: unknown; requestId?: string } } | undefined)?.error;
  if (err?.message) return new ApiError(response.status, err.code ?? 'error', err.message, err.details ?? null, err.requestId ?? null);
  return new ApiError(response.status, 'http_error', `The gateway answered ${response.status} ${response.statusText}`.trim());
}

/**
 * Unwraps an openapi-fetch result: the data, or an ApiError in the API's words. Response bodies are not
 * described in the OpenAPI document (only requests are), so each feature states the type it reads.
 */
export async function unwrap<T>(call: Promise<{ data?: unknown; error?: unknown; response: Response }>): Promise<T> {
  const { data, error, response } = await call;
  if (!response.ok) throw await toApiError(response, error);
  return data as T;
}

/** For endpoints that answer text (CSV exports) or that the document does not list yet. */
export async function rawFetch(path: string, init: RequestInit = {}): Promise<Response> {
  const method = (init.method ?? 'GET').toUpperCase();
  const headers = new Headers(init.headers);
  if (!SAFE.has(method) && csrfToken) headers.set('x-csrf-token', csrfToken);
  const response = await fetch(path, { ...init, headers, credentials: 'same-origin' });
  if (response.status === 401) onSessionLost?.();
  if (!response.ok) {
    let body: unknown = null;
    try {
      body = await response.json();
    } catch {
      /* not JSON */
    }
    throw await toApiError(response, body);
  }
  return response;
}
