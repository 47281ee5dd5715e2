import type { IncomingMessage } from 'node:http';
import zlib from 'node:zlib';
import type { Transform } from 'node:stream';
import type Koa from 'koa';
import qs from 'qs';
import { AppError } from './errors';

/**
 * Request bodies: read only by a route that takes one, after its authentication (see Api.route), within a limit
 * on the wire and a limit once decompressed, refusing compression ratios no real client sends.
 */

export interface BodyLimits {
  /** bytes as sent (compressed or not) */
  wire: number;
  /** bytes once decompressed */
  decoded: number;
}

export type BodyType = 'json' | 'form' | 'text';

export interface BodyPolicy {
  limits: BodyLimits;
  /** what the route parses; any other content type leaves the body {} (the schema answers) */
  types: readonly BodyType[];
}

/**
 * Decompressed bytes per compressed byte beyond which a body is refused. JSON text compresses 3–10×, base64 images
 * hardly at all; a ratio past 100 is a decompression bomb (gzip reaches ~1000× on repeated bytes).
 */
export const MAX_COMPRESSION_RATIO = 100;
/** A body that decompresses to less than this is never refused for its ratio. */
const RATIO_FLOOR_BYTES = 1024 * 1024;

/** co-body's defaults, which the gateway answered to before it read bodies itself. */
const JSON_TYPES = ['application/json', 'application/json-patch+json', 'application/vnd.api+json', 'application/csp-report', 'application/reports+json', 'application/scim+json'];
const FORM_TYPES = ['application/x-www-form-urlencoded'];
const TEXT_TYPES = ['text/plain'];
/** The plain form every SDK sends, recognised without parsing the media type. */
const PLAIN_JSON = /^application\/json(?:; ?charset=utf-8)?$/i;

const tooLarge = (message = 'Request body is too large') => new AppError('payload_too_large', message);

function decoderFor(encoding: string): Transform | null {
  switch (encoding) {
    case 'identity':
      return null;
    case 'gzip':
    case 'x-gzip':
    case 'deflate':
      return zlib.createUnzip();
    case 'br':
      return zlib.createBrotliDecompress();
    default:
      throw new AppError('unsupported_media_type', `Unsupported Content-Encoding: ${encoding.slice(0, 40)}`);
  }
}

/**
 * The body's bytes, decompressed. Content-Length is checked before anything is read; while reading, the bytes on
 * the wire, the decompressed bytes and their ratio are counted, and the stream is paused at the first one over.
 */
export function readBody(req: IncomingMessage, limits: BodyLimits): Promise<Buffer> {
  const encoding = (req.headers['content-encoding'] ?? 'identity').trim().toLowerCase() || 'identity';
  const decoder = decoderFor(encoding);
  const header = req.headers['content-length'];
  const length = header ? Number(header) : null;
  const maxWire = decoder ? limits.wire : Math.min(limits.wire, limits.decoded);
  if (length !== null && length > maxWire) {
    req.pause();
    return Promise.reject(tooLarge());
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let wire = 0;
    let decoded = 0;
    let settled = false;
    const cleanup = () => {
      settled = true;
      req.removeListener('data', onWire);
      req.removeListener('end', onWireEnd);
      req.removeListener('error', fail);
      req.removeListener('aborted', onAborted);
      req.removeListener('close', onClose);
      if (decoder) {
        req.unpipe(decoder);
        decoder.removeListener('data', onDecoded);
        decoder.removeListener('end', onDecodedEnd);
        decoder.removeListener('error', onDecodeError);
      }
    };
    const fail = (err: Error) => {
      if (settled) return;
      cleanup();
      decoder?.destroy();
      req.pause();
      reject(err);
    };
    const finish = () => {
      if (settled) return;
      cleanup();
      if (length !== null && wire !== length) reject(new AppError('invalid_request', 'Request body size did not match Content-Length'));
      else resolve(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, decoded));
    };
    const onDecoded = (chunk: Buffer) => {
      if (settled) return;
      decoded += chunk.length;
      if (decoded > limits.decoded) return fail(tooLarge('Request body is too large once decompressed'));
      if (decoder && decoded > RATIO_FLOOR_BYTES && decoded > wire * MAX_COMPRESSION_RATIO) {
        return fail(tooLarge(`Request body decompresses to more than ${MAX_COMPRESSION_RATIO} times its size`));
      }
      chunks.push(chunk);
    };
    const onWire = (chunk: Buffer) => {
      wire += chunk.length;
      if (wire > maxWire) fail(tooLarge());
      else if (!decoder) onDecoded(chunk);
    };
    const onWireEnd = () => {
      if (!decoder) finish();
    };
    const onDecodedEnd = () => finish();
    const onDecodeError = () => fail(new AppError('invalid_request', `Request body is not valid ${encoding} data`));
    const onAborted = () => fail(new AppError('invalid_request', 'Request aborted'));
    // 'close' also follows a complete body (autoDestroy); only an incomplete one is an abort
    const onClose = () => {
      if (!req.complete) onAborted();
    };
    req.on('data', onWire);
    req.on('end', onWireEnd);
    req.on('error', fail);
    req.on('aborted', onAborted);
    req.on('close', onClose);
    if (decoder) {
      decoder.on('data', onDecoded);
      decoder.on('end', onDecodedEnd);
      decoder.on('error', onDecodeError);
      req.pipe(decoder);
    }
  });
}

const malformed = (message = 'Malformed JSON body') => new AppError('invalid_request', message);

// @hapi/bourne's test (what co-body parsed with): a "__proto__" key, possibly escaped, is refused.
const PROTO_KEY = /"(?:_|\\u005[Ff])(?:_|\\u005[Ff])(?:p|\\u0070)(?:r|\\u0072)(?:o|\\u006[Ff])(?:t|\\u0074)(?:o|\\u006[Ff])(?:_|\\u005[Ff])(?:_|\\u005[Ff])"\s*:/;

function hasProtoKey(value: object): boolean {
  let next: object[] = [value];
  while (next.length) {
    const nodes = next;
    next = [];
    for (const node of nodes) {
      if (Object.prototype.hasOwnProperty.call(node, '__proto__')) return true;
      for (const key in node) {
        const child = (node as Record<string, unknown>)[key];
        if (child && typeof child === 'object') next.push(child);
      }
    }
  }
  return false;
}

/** co-body's strict JSON: empty → {}, only an object or array, no __proto__ keys; the text is utf-8 without BOM. */
export function parseJson(buf: Buffer): unknown {
  let raw = buf.toString('utf8');
  if (raw.charCodeAt(0) === 0xfeff) raw = raw.slice(1);
  if (raw === '') return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw malformed();
  }
  const refused =
    parsed === null ||
    typeof parsed !== 'object' ||
    ((raw.includes('__') || raw.includes('\\u005')) && PROTO_KEY.test(raw) && hasProtoKey(parsed));
  if (refused) throw malformed();
  return parsed;
}

function typeOf(ctx: Koa.Context, types: readonly BodyType[]): BodyType | null {
  const contentType = ctx.req.headers['content-type'];
  if (contentType === undefined) return null;
  if (PLAIN_JSON.test(contentType)) return types.includes('json') ? 'json' : null;
  for (const type of types) {
    const mimes = type === 'json' ? JSON_TYPES : type === 'form' ? FORM_TYPES : TEXT_TYPES;
    if (ctx.is(mimes)) return type;
  }
  return null;
}

/**
 * Reads and parses the body of a POST, PUT or PATCH into ctx.request.body (form bodies with qs as co-body did);
 * a content type the route does not parse leaves it {} and its body unread.
 */
export async function parseRequestBody(ctx: Koa.Context, policy: BodyPolicy): Promise<void> {
  const request = ctx.request as { body?: unknown };
  const type = typeOf(ctx, policy.types);
  if (type === null) {
    request.body = {};
    return;
  }
  const buf = await readBody(ctx.req, policy.limits);
  if (type === 'json') {
    request.body = parseJson(buf);
    // the bytes as sent, for a route that forwards them unchanged (Api passes them on when the body needed no change)
    if (buf[0] !== 0xef) (ctx.request as { rawBody?: Buffer }).rawBody = buf;
  }
  else if (type === 'text') request.body = buf.toString('utf8');
  else {
    try {
      request.body = qs.parse(buf.toString('utf8'), { allowDots: true });
    } catch {
      throw new AppError('invalid_request', 'Malformed form body');
    }
  }
}
