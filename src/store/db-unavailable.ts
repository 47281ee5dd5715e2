import { AppError } from '../http/errors';

/**
 * How long a cache on the request path (gateway keys, wallet entries, plans) keeps serving its last good copy past
 * its TTL while every reload fails because PostgreSQL is unreachable. Past this, what needs the database answers
 * 503 `service_unavailable` like a request that was never cached.
 */
export const MAX_STALE_ON_DB_ERROR_MS = 5 * 60_000;

/** What a client is told to wait before retrying a request refused for want of the database. */
export const DB_RETRY_AFTER_SECONDS = 5;

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EPIPE']);
// admin_shutdown, crash_shutdown, cannot_connect_now (starting up / shutting down)
const SHUTDOWN_CODES = new Set(['57P01', '57P02', '57P03']);
const MESSAGES = /Connection terminated|Timeout acquiring a connection|timeout expired|Client has encountered a connection error|Connection ended unexpectedly/i;

/**
 * True for an error that says the database cannot be reached (refused or reset connection, pool acquire timeout,
 * server shutting down, SQLSTATE class 08), as opposed to a query the database answered with an error.
 */
export function isDatabaseUnavailable(err: unknown, depth = 0): boolean {
  if (!err || typeof err !== 'object' || depth > 4) return false;
  const e = err as { code?: unknown; name?: unknown; message?: unknown; cause?: unknown; errors?: unknown };
  const code = typeof e.code === 'string' ? e.code : '';
  if (NETWORK_CODES.has(code) || SHUTDOWN_CODES.has(code) || /^08[0-9A-Z]{3}$/.test(code)) return true;
  if (e.name === 'KnexTimeoutError') return true;
  if (typeof e.message === 'string' && MESSAGES.test(e.message)) return true;
  if (Array.isArray(e.errors) && e.errors.some((x) => isDatabaseUnavailable(x, depth + 1))) return true;
  return isDatabaseUnavailable(e.cause, depth + 1);
}

/** The 503 a request gets when what it needs is neither cached nor readable: fast, with Retry-After, never a 500. */
export function databaseUnavailable(cause?: unknown): AppError {
  return new AppError('service_unavailable', 'The gateway cannot reach its database right now; try again shortly', {
    headers: { 'retry-after': String(DB_RETRY_AFTER_SECONDS) },
    cause,
  });
}
