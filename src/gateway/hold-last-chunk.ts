import { pipeline, Readable, Transform } from 'node:stream';
import type { AppContext } from '../http/context';

/**
 * Holds back the last chunk of a streamed response body until `until` resolves, passing every other chunk on at
 * once. A client knows an answer is complete from its last byte (content-length or the chunked terminator), so
 * this is what makes "answered" mean "its usage event is stored" for streamed bodies too (proxy pass-through).
 * `until` must not wait for this stream's end: the event is recorded once the upstream body has been read, which
 * this stage never blocks (it only keeps one chunk).
 */
export function holdLastChunk(ctx: AppContext, until: Promise<void>): void {
  const body = ctx.body;
  if (!(body instanceof Readable)) return;
  let held: Buffer | null = null;
  const hold = new Transform({
    transform(chunk: Buffer, _enc, done) {
      const previous = held;
      held = chunk;
      done(null, previous ?? undefined);
    },
    flush(done) {
      until.then(() => done(null, held ?? undefined));
    },
  });
  pipeline(body, hold, () => {}); // a failing body destroys the response itself (see proxy/handler.ts)
  // Koa drops Content-Length when a stream body is replaced by another: the length is unchanged, so keep it
  const length = ctx.response.get('content-length');
  ctx.body = hold;
  if (length) ctx.set('content-length', length);
}
