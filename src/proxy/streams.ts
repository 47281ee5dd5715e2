import { Readable, Transform, type TransformCallback } from 'node:stream';

const REDACTED = Buffer.from('[redacted]');

/** How many trailing bytes of `data` could be the start of `needle` (held back until the next chunk decides). */
function partialMatchAtEnd(data: Buffer, needle: Buffer): number {
  const from = Math.max(0, data.length - needle.length + 1);
  for (let start = data.indexOf(needle[0], from); start !== -1; start = data.indexOf(needle[0], start + 1)) {
    const tail = data.subarray(start);
    if (needle.subarray(0, tail.length).equals(tail)) return tail.length;
  }
  return 0;
}

/**
 * Replaces every occurrence of `secret` in a byte stream, also across chunk boundaries. Only a chunk's tail
 * that could begin the secret is held back until the next chunk, so streamed answers (SSE) are not delayed.
 * Upstreams that echo a request, or quote the key in an error, must not hand the provider key to a gateway user.
 */
export function secretScrubber(secret: string): Transform {
  const needle = Buffer.from(secret);
  let held = Buffer.alloc(0);
  const scrub = (data: Buffer): Buffer => {
    let index = data.indexOf(needle);
    if (index < 0) return data;
    const parts: Buffer[] = [];
    let from = 0;
    while (index >= 0) {
      parts.push(data.subarray(from, index), REDACTED);
      from = index + needle.length;
      index = data.indexOf(needle, from);
    }
    parts.push(data.subarray(from));
    return Buffer.concat(parts);
  };
  return new Transform({
    transform(chunk: Buffer, _enc, done: TransformCallback) {
      if (needle.length === 0) return done(null, chunk);
      const data = scrub(held.length ? Buffer.concat([held, chunk]) : chunk);
      const keep = partialMatchAtEnd(data, needle);
      held = Buffer.from(data.subarray(data.length - keep));
      const out = data.subarray(0, data.length - keep);
      done(null, out.length ? out : undefined);
    },
    flush(done: TransformCallback) {
      done(null, held.length ? held : undefined);
    },
  });
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
