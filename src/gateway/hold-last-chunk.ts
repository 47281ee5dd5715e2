import { pipeline, Readable, Transform } from 'node:stream';
import type { AppContext } from '../http/context';

/**
 * Holds back the end of a streamed response body until `until` resolves; everything before it passes at once (a
 * streamed answer still streams). A client knows an answer is complete from its end: the chunked terminator, or
 * the last byte of a Content-Length body — so with a length, the final byte waits; without one, only res.end().
 * This is what makes "answered" mean "its usage event is stored" for bodies piped through Koa (proxy pass-through).
 * `until` must not wait for this stream's end: the event is recorded once the upstream body has been read, which
 * this stage never blocks.
 */
export function holdLastChunk(ctx: AppContext, until: Promise<void>): void {
  const body = ctx.body;
  if (!(body instanceof Readable)) return;
  const declared = ctx.response.get('content-length');
  const length = declared && /^\d+$/.test(declared) ? Number(declared) : null;
  let seen = 0;
  let held: Buffer | null = null;
  const hold = new Transform({
    transform(chunk: Buffer, _enc, done) {
      if (length === null) return done(null, chunk);
      const room = Math.max(0, length - 1 - seen); // what may pass before the final byte
      seen += chunk.length;
      if (room >= chunk.length) return done(null, chunk);
      const rest = chunk.subarray(room);
      held = held ? Buffer.concat([held, rest]) : rest;
      done(null, room > 0 ? chunk.subarray(0, room) : undefined);
    },
    flush(done) {
      until.then(() => done(null, held ?? undefined));
    },
  });
  pipeline(body, hold, () => {}); // a failing body destroys the response itself (see proxy/handler.ts)
  // Koa drops Content-Length when a stream body is replaced by another: the length is unchanged, so keep it
  ctx.body = hold;
  if (declared) ctx.set('content-length', declared);
}
