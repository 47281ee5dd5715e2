import crypto from 'node:crypto';
import type Koa from 'koa';
import type { Logger } from '../logger';
import type { AppContext } from './context';

const CLIENT_ID = /^[A-Za-z0-9._:-]{1,128}$/;

const ID_BYTES = 12;
/** Random bytes for request ids, refilled a few hundred ids at a time rather than one system call per request. */
const pool = Buffer.alloc(ID_BYTES * 512);
let poolOffset = pool.length;

export function newRequestId(): string {
  if (poolOffset + ID_BYTES > pool.length) {
    crypto.randomFillSync(pool);
    poolOffset = 0;
  }
  const id = pool.toString('base64url', poolOffset, poolOffset + ID_BYTES);
  poolOffset += ID_BYTES;
  return `req_${id}`;
}

/** /v1 and /proxy: every request there, answered or refused, is recorded as a usage event. */
function isGatewayPath(path: string): boolean {
  return path.startsWith('/v1/') || path.startsWith('/proxy/') || path === '/proxy';
}

/**
 * Request id (echoed when the client sent a sane one), access log line and timing for every request.
 * The access line carries fixed fields only (never headers or bodies), so it is written by a child logger
 * without the redaction pass, which would otherwise double the cost of the line on every request.
 * A successful gateway call logs it at debug: its usage event (request id, key, status, latency, tokens,
 * cost) is the record, and the line cost about 5% of the request's CPU. Errors and management calls stay at info.
 */
export function requestContext(logger: Logger, onDone?: (ctx: AppContext, ms: number) => void): Koa.Middleware {
  const access = logger.child({}, { redact: { paths: [] } });
  return async (ctx: AppContext, next) => {
    const start = performance.now();
    const incoming = ctx.get('x-request-id');
    const requestId = incoming && CLIENT_ID.test(incoming) ? incoming : newRequestId();
    ctx.state.requestId = requestId;
    ctx.res.setHeader('x-request-id', requestId); // first header of the response: nothing can be sent yet
    try {
      await next();
    } finally {
      const ms = performance.now() - start;
      onDone?.(ctx, ms);
      const level = ctx.status < 400 && isGatewayPath(ctx.path) ? 'debug' : 'info';
      if (access.isLevelEnabled(level)) {
        // ip: the resolved client address (http/client-ip.ts), worked out only when the line is written
        access[level]({ requestId, method: ctx.method, path: ctx.path, status: ctx.status, ip: ctx.ip, ms: Math.round(ms * 10) / 10 }, 'request');
      }
    }
  };
}
