import type Koa from 'koa';
import type { Logger } from '../logger';
import { AppError, ERROR_CODES, ErrorCode } from './errors';
import type { AppContext } from './context';
import { databaseUnavailable, isDatabaseUnavailable } from '../store/db-unavailable';

type Shape = 'openai' | 'anthropic' | 'management';

function shapeFor(path: string): Shape {
  if (path.startsWith('/v1/messages')) return 'anthropic';
  if (path.startsWith('/v1/') || path === '/v1' || path.startsWith('/proxy')) return 'openai';
  return 'management';
}

/** Errors thrown by Koa's own machinery (body parser, http-errors) keep their status but get our shape. */
function normalise(err: unknown): AppError | null {
  if (err instanceof AppError) return err;
  const e = err as { status?: number; type?: string; expose?: boolean };
  if (typeof e?.status !== 'number' || e.status >= 500) return null;
  if (e.status === 413) return new AppError('payload_too_large', 'Request body is too large');
  if (e.status === 415) return new AppError('unsupported_media_type', 'Unsupported content type');
  if (e.type === 'entity.parse.failed' || e.status === 400) return new AppError('invalid_request', 'Malformed JSON body');
  const code = (Object.keys(ERROR_CODES) as ErrorCode[]).find((c) => ERROR_CODES[c].status === e.status);
  return code ? new AppError(code, e.expose ? String((err as Error).message) : code.replace(/_/g, ' ')) : null;
}

export function body(shape: Shape, err: AppError, requestId: string): unknown {
  if (shape === 'openai') {
    return { error: { message: err.message, type: err.type, code: err.code, param: err.param } };
  }
  if (shape === 'anthropic') {
    return { type: 'error', error: { type: err.type, message: err.message }, request_id: requestId };
  }
  return { error: { code: err.code, message: err.message, details: err.details ?? null, requestId } };
}

/**
 * One place turns errors into responses: known AppErrors in the shape of the surface they came from,
 * anything else into a generic 500 carrying the request id; the full error goes to the log only.
 */
export function errorHandler(logger: Logger): Koa.Middleware {
  return async (ctx: AppContext, next) => {
    try {
      await next();
      if (ctx.status === 404 && ctx.body === undefined) throw new AppError('not_found', `No route for ${ctx.method} ${ctx.path}`);
    } catch (err) {
      const requestId = ctx.state.requestId;
      let appErr = normalise(err);
      if (!appErr && isDatabaseUnavailable(err)) {
        // what the request needed was not cached and the database is down: a 503 the client can retry, not a 500
        logger.warn({ requestId, method: ctx.method, path: ctx.path, reason: (err as { code?: string }).code }, 'database unreachable');
        appErr = databaseUnavailable();
      }
      if (!appErr) {
        logger.error({ err, requestId, method: ctx.method, path: ctx.path }, 'unhandled error');
        appErr = new AppError('internal_error', `Internal error (request id ${requestId})`);
      }
      if (ctx.headerSent || !ctx.writable) {
        // A stream already started: the stream writer reports failures in-band; nothing more can be sent here.
        logger.warn({ requestId, code: appErr.code }, 'error after response started');
        return;
      }
      ctx.status = appErr.status;
      if (appErr.headers) ctx.set(appErr.headers);
      // a refused upload (no credential, too large) is not read to its end: the connection closes after the answer
      if (!ctx.req.complete) ctx.set('Connection', 'close');
      ctx.body = body(shapeFor(ctx.path), appErr, requestId);
    }
  };
}
