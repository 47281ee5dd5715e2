import { Readable, Transform, type TransformCallback } from 'node:stream';
import zlib from 'node:zlib';
import { needlesFor, StreamScrubber, type SecretNeedles } from './secret-scrubber';

/**
 * The Transform form of StreamScrubber, for piping an upstream body to the client: every form of `secret`
 * (see ./secret-scrubber.ts) is replaced, also across chunk boundaries, and nothing but a tail that could begin
 * one is held back, so streamed answers are not delayed.
 */
export function secretScrubber(secret: string | SecretNeedles): Transform {
  const scrubber = new StreamScrubber(typeof secret === 'string' ? needlesFor(secret) : secret);
  return new Transform({
    transform(chunk: Buffer, _enc, done: TransformCallback) {
      const out = scrubber.push(chunk);
      done(null, out.length ? out : undefined);
    },
    flush(done: TransformCallback) {
      const rest = scrubber.end();
      done(null, rest.length ? rest : undefined);
    },
  });
}

/**
 * The decoder for a body the upstream compressed although the gateway asked for none (it sends no
 * accept-encoding, so the scrubber reads plain bytes): null when the body is not encoded, undefined when it is
 * encoded in a way the gateway cannot read — and so cannot check for the secret.
 */
export function contentDecoder(encoding: string | string[] | undefined): Transform | null | undefined {
  const value = (Array.isArray(encoding) ? encoding.join(',') : encoding ?? '').trim().toLowerCase();
  if (value === '' || value === 'identity') return null;
  if (value === 'gzip' || value === 'x-gzip') return zlib.createGunzip();
  if (value === 'deflate') return zlib.createInflate();
  if (value === 'br') return zlib.createBrotliDecompress();
  return undefined;
}

/** A request body that can be sent more than once (so a failed attempt can fall back), or only once. */
export type SpooledBody = { replayable: true; data: Buffer | null } | { replayable: false; stream: Readable };

/**
 * Reads up to `limit` bytes of a body into memory. Small bodies (nearly every API call) become replayable;
 * a larger one is handed on as a stream — the part already read followed by the rest — without buffering it.
 */
export async function spoolBody(source: Readable, limit: number): Promise<SpooledBody> {
  const chunks: Buffer[] = [];
  let size = 0;
  const iterator = source[Symbol.asyncIterator]();
  for (;;) {
    const { value, done } = await iterator.next();
    if (done) return { replayable: true, data: size ? Buffer.concat(chunks, size) : null };
    const chunk = Buffer.isBuffer(value) ? value : Buffer.from(value as string);
    chunks.push(chunk);
    size += chunk.length;
    if (size > limit) break;
  }
  async function* rest() {
    yield* chunks;
    for (;;) {
      const { value, done } = await iterator.next();
      if (done) return;
      yield Buffer.isBuffer(value) ? value : Buffer.from(value as string);
    }
  }
  return { replayable: false, stream: Readable.from(rest(), { objectMode: false }) };
}
