import crypto from 'node:crypto';
import type Koa from 'koa';
import type { Logger } from '../logger';
import type { AppContext } from './context';

const CLIENT_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export function newRequestId(): string {
  return `req_${crypto.randomBytes(12).toString('base64url')}`;
}

/** Request id (echoed when the client sent a sane one), access log line and timing for every request. */
export function requestContext(logger: Logger, onDone?: (ctx: AppContext, ms: number) => void): Koa.Middleware {
  return async (ctx: AppContext, next) => {
    const start = performance.now();
    const incoming = ctx.get('x-request-id');
    ctx.state.requestId = CLIENT_ID.test(incoming) ? incoming : newRequestId();
    ctx.set('x-request-id', ctx.state.requestId);
    try {
      await next();
    } finally {
      const ms = performance.now() - start;
      onDone?.(ctx, ms);
      if (logger.isLevelEnabled('info')) {
        logger.info(
          { requestId: ctx.state.requestId, method: ctx.method, path: ctx.path, status: ctx.status, ms: Math.round(ms * 10) / 10 },
          'request',
        );
      }
    }
  };
}
