/**
 * What an upstream sends back must never hand the provider secret to a gateway user: an upstream may echo the
 * request (a debugging endpoint, a reflected header, an error quoting the key) or a model may be talked into
 * repeating it. Every answer of an attempt — JSON, SSE, raw pass-through, headers — is scanned for that attempt's
 * secret in the forms it travels in, and each match becomes `[redacted]`.
 *
 * The scan is a handful of Buffer.indexOf calls over the bytes (memchr-speed, no regex, no string decoding); an
 * answer without a match goes out as the very same Buffer. Streams hold back only a tail that could begin a
 * pattern, so a secret split across two chunks is caught without buffering the stream.
 */
import { LRUCache } from 'lru-cache';

export const REDACTED = '[redacted]';
const MARKER = Buffer.from(REDACTED);
const EMPTY = Buffer.alloc(0);

/**
 * One pattern, searched from its anchor: the first byte (of its first 16) least likely in ordinary answers.
 * Buffer.indexOf finds a needle's first byte with memchr and only then compares, so a needle that begins with a
 * letter common in text ("sk-…", a base64 "c2st…") is checked at every "s" or "c"; one that begins with an
 * upper-case letter or a digit is checked a few times per KB. Measured: ~10× fewer ns per KB.
 */
interface Pattern {
  readonly whole: Buffer;
  readonly anchor: number;
  /** whole.subarray(anchor): what indexOf looks for; the bytes before it are compared in place */
  readonly fromAnchor: Buffer;
}

/** The byte patterns one secret can take in an answer. */
export interface SecretNeedles {
  readonly bytes: readonly Buffer[];
  readonly patterns: readonly Pattern[];
  readonly texts: readonly string[];
  /** 1 for each byte value that occurs in some pattern: a chunk ending in any other byte holds nothing back */
  readonly inPattern: Uint8Array;
}

/** Shorter derived patterns (a base64 core of a very short secret) would match innocent bytes. */
const MIN_DERIVED_LENGTH = 8;

/**
 * The part of base64(prefix + secret + suffix) that depends on the secret alone, for a prefix of `offset` bytes
 * modulo 3 — what Basic auth (`secret:`, `user:secret`) and any other base64 wrapping of the secret contain.
 */
function base64Core(secret: Buffer, offset: 0 | 1 | 2): string {
  const total = offset + secret.length;
  const encoded = Buffer.concat([Buffer.alloc(offset), secret]).toString('base64');
  // chars of the first group that also depend on the unknown prefix bytes
  const start = offset === 0 ? 0 : offset === 1 ? 2 : 3;
  // chars of a last, partial group that also depend on the unknown suffix bytes
  const rest = total % 3;
  const end = 4 * Math.floor(total / 3) + (rest === 0 ? 0 : rest === 1 ? 1 : 2);
  return encoded.slice(start, end);
}

function percentLower(text: string): string {
  return text.replace(/%[0-9A-F]{2}/g, (m) => m.toLowerCase());
}

/** Raw; URL-encoded (path/query and form styles, either hex case); JSON-escaped; base64 and base64url at every alignment. */
export function secretForms(secret: string): string[] {
  const raw = Buffer.from(secret);
  const derived = new Set<string>();
  const uri = encodeURIComponent(secret);
  const form = new URLSearchParams({ k: secret }).toString().slice(2);
  for (const text of [uri, percentLower(uri), form, percentLower(form)]) derived.add(text);
  derived.add(JSON.stringify(secret).slice(1, -1));
  derived.add(secret.replace(/\//g, '\\/'));
  for (const offset of [0, 1, 2] as const) {
    const core = base64Core(raw, offset);
    derived.add(core);
    derived.add(core.replace(/\+/g, '-').replace(/\//g, '_'));
  }
  derived.delete(secret);
  const forms = [secret, ...[...derived].filter((d) => d.length >= MIN_DERIVED_LENGTH)];
  return forms.sort((a, b) => b.length - a.length);
}

/** Lower is rarer in JSON and prose: upper-case letters, then `+/=%\\`, then digits, then the rest. */
function commonness(byte: number): number {
  if (byte >= 0x41 && byte <= 0x5a) return 0;
  if (byte === 0x2b || byte === 0x2f || byte === 0x3d || byte === 0x25 || byte === 0x5c) return 1;
  if (byte >= 0x30 && byte <= 0x39) return 2;
  return 3;
}

function patternOf(whole: Buffer): Pattern {
  let anchor = 0;
  for (let i = 1; i < Math.min(16, whole.length - 7); i++) if (commonness(whole[i]) < commonness(whole[anchor])) anchor = i;
  return { whole, anchor, fromAnchor: whole.subarray(anchor) };
}

/** Where `pattern` occurs in `data`, as [start, end) pairs appended to `ranges`. */
function findAll(data: Buffer, pattern: Pattern, ranges: [number, number][] | null): [number, number][] | null {
  const { whole, anchor, fromAnchor } = pattern;
  for (let at = data.indexOf(fromAnchor, anchor); at !== -1; ) {
    const start = at - anchor;
    let i = 0;
    while (i < anchor && data[start + i] === whole[i]) i++;
    if (i === anchor) {
      (ranges ??= []).push([start, start + whole.length]);
      at = data.indexOf(fromAnchor, start + whole.length + anchor);
    } else {
      at = data.indexOf(fromAnchor, at + 1);
    }
  }
  return ranges;
}

// Patterns by secret, so a warm wallet entry does not re-derive them per request (the same lifetime as the
// decrypted secrets the wallet itself keeps).
const cache = new LRUCache<string, SecretNeedles>({ max: 1000, ttl: 60_000 });

export function needlesFor(secret: string): SecretNeedles {
  let needles = cache.get(secret);
  if (!needles) {
    const texts = secret ? secretForms(secret) : [];
    const bytes = texts.map((t) => Buffer.from(t));
    const inPattern = new Uint8Array(256);
    for (const b of bytes) for (const byte of b) inPattern[byte] = 1;
    needles = { texts, bytes, inPattern, patterns: bytes.map(patternOf) };
    cache.set(secret, needles);
  }
  return needles;
}

/** `data` with every match of a needle replaced; the same Buffer when nothing matched (the common case). */
export function scrubBytes(data: Buffer, needles: SecretNeedles): Buffer {
  let ranges: [number, number][] | null = null;
  for (const pattern of needles.patterns) ranges = findAll(data, pattern, ranges);
  if (!ranges) return data;
  ranges.sort((a, b) => a[0] - b[0]);
  const parts: Buffer[] = [];
  let from = 0;
  let i = 0;
  while (i < ranges.length) {
    const start = ranges[i][0];
    let end = ranges[i][1];
    // overlapping forms (a base64 core inside a longer match, say) become one marker
    for (i++; i < ranges.length && ranges[i][0] < end; i++) end = Math.max(end, ranges[i][1]);
    parts.push(data.subarray(from, start), MARKER);
    from = end;
  }
  parts.push(data.subarray(from));
  return Buffer.concat(parts);
}

/** A JSON value with every match replaced in its serialised form; the same value when nothing matched. */
export function scrubJson<T>(value: T, needles: SecretNeedles): T {
  const bytes = Buffer.from(JSON.stringify(value));
  const scrubbed = scrubBytes(bytes, needles);
  return scrubbed === bytes ? value : (JSON.parse(scrubbed.toString()) as T);
}

/** A string with every match of a needle replaced (header values, short texts). */
export function scrubText(text: string, needles: SecretNeedles): string {
  if (!needles.texts.some((t) => text.includes(t))) return text;
  return scrubBytes(Buffer.from(text), needles).toString();
}

export function containsSecret(text: string, needles: SecretNeedles): boolean {
  return needles.texts.some((t) => text.includes(t));
}

/** How many trailing bytes of `data` could be the start of `needle` (compared in place: no subarray per try). */
function partialMatchAtEnd(data: Buffer, needle: Buffer): number {
  const from = Math.max(0, data.length - needle.length + 1);
  for (let start = data.indexOf(needle[0], from); start !== -1; start = data.indexOf(needle[0], start + 1)) {
    let i = start + 1;
    while (i < data.length && data[i] === needle[i - start]) i++;
    if (i === data.length) return data.length - start;
  }
  return 0;
}

/**
 * Scrubs a byte stream piece by piece. Only a tail that could begin a pattern is held back until the next piece
 * decides; an SSE frame ends in a blank line, which begins no pattern, so whole frames are never delayed.
 */
export class StreamScrubber {
  private held: Buffer = EMPTY;

  constructor(private readonly needles: SecretNeedles) {}

  /** The bytes that may go out now. */
  push(piece: Buffer | string): Buffer {
    const bytes = typeof piece === 'string' ? Buffer.from(piece) : piece;
    if (this.needles.bytes.length === 0) return bytes;
    const data = scrubBytes(this.held.length ? Buffer.concat([this.held, bytes]) : bytes, this.needles);
    let keep = 0;
    // An SSE frame ends in "\n", a JSON body in "}": bytes no pattern contains, so nothing can be pending.
    if (data.length > 0 && this.needles.inPattern[data[data.length - 1]]) {
      for (const needle of this.needles.bytes) keep = Math.max(keep, partialMatchAtEnd(data, needle));
    }
    // a copy: the held tail must not pin a large upstream chunk in memory
    this.held = keep ? Buffer.from(data.subarray(data.length - keep)) : EMPTY;
    return keep ? data.subarray(0, data.length - keep) : data;
  }

  /** The held tail, at the end of the stream: it did not turn out to be a secret. */
  end(): Buffer {
    const rest = this.held;
    this.held = EMPTY;
    return rest;
  }
}
