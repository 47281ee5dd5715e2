/**
 * Every error a client can see is an AppError with a code from this closed list; the code decides the
 * HTTP status and, on the public API, OpenAI's error `type`. Anything else becomes a generic 500.
 */
export const ERROR_CODES = {
  invalid_request: { status: 400, type: 'invalid_request_error' },
  unauthorized: { status: 401, type: 'authentication_error' },
  invalid_api_key: { status: 401, type: 'authentication_error' },
  insufficient_credits: { status: 402, type: 'insufficient_quota' },
  forbidden: { status: 403, type: 'permission_error' },
  csrf_failed: { status: 403, type: 'permission_error' },
  password_change_required: { status: 403, type: 'permission_error' },
  not_found: { status: 404, type: 'not_found_error' },
  model_not_found: { status: 404, type: 'not_found_error' },
  conflict: { status: 409, type: 'conflict_error' },
  payload_too_large: { status: 413, type: 'invalid_request_error' },
  unsupported_media_type: { status: 415, type: 'invalid_request_error' },
  /** a split of a team's budget (per member or key) larger than the team's budget */
  budget_exceeds_team: { status: 422, type: 'invalid_request_error' },
  rate_limited: { status: 429, type: 'rate_limit_error' },
  internal_error: { status: 500, type: 'server_error' },
  upstream_failed: { status: 502, type: 'upstream_error' },
  no_provider_key: { status: 503, type: 'service_unavailable' },
  service_unavailable: { status: 503, type: 'service_unavailable' },
  upstream_timeout: { status: 504, type: 'timeout_error' },
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export interface AppErrorOptions {
  details?: unknown;
  param?: string | null;
  headers?: Record<string, string>;
  cause?: unknown;
}

export class AppError extends Error {
  readonly status: number;
  readonly type: string;
  readonly details?: unknown;
  readonly param: string | null;
  readonly headers?: Record<string, string>;

  constructor(readonly code: ErrorCode, message: string, opts: AppErrorOptions = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'AppError';
    this.status = ERROR_CODES[code].status;
    this.type = ERROR_CODES[code].type;
    this.details = opts.details;
    this.param = opts.param ?? null;
    this.headers = opts.headers;
  }
}

export const badRequest = (message: string, opts?: AppErrorOptions) => new AppError('invalid_request', message, opts);
export const notFound = (what: string) => new AppError('not_found', `${what} not found`);
export const forbidden = (message: string) => new AppError('forbidden', message);
export const conflict = (message: string, opts?: AppErrorOptions) => new AppError('conflict', message, opts);
