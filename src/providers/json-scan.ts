/**
 * Reading just enough of a JSON text to avoid parsing or re-serialising all of it, on the hot /v1 path:
 * - `tailMember(buf, 'usage')`: the value of a top-level member found from the end of an answer (OpenAI puts
 *   `usage` at or near the end), parsing only that value. An embeddings answer is mostly a long array of
 *   floats the gateway never needs to see.
 * - `uniqueTopLevelKeys(buf)`: whether a client's body can be forwarded as its own bytes. The gateway validated
 *   the body as JSON.parse read it (the last of duplicate keys wins); an upstream parser that kept the first
 *   would see another model than the one admitted and billed. So the bytes go as they came only when no
 *   top-level key repeats, and no key is written with escapes (`"mod\u0065l"` is `model` to every parser).
 * Both answer "cannot tell" (null / false) on anything unusual, and the caller then does the full parse or the
 * re-serialisation: the fast path may decline, never decide differently from the slow one on valid JSON.
 */

import type { LlmRequest } from './types';

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const COLON = 0x3a;
const COMMA = 0x2c;

const isSpace = (b: number | undefined) => b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09;

function skipSpace(buf: Buffer, i: number): number {
  while (isSpace(buf[i])) i++;
  return i;
}

/** The index just past the string that opens at buf[i] (a quote), or -1 when it never closes. */
function stringEnd(buf: Buffer, i: number): number {
  let from = i + 1;
  for (;;) {
    const quote = buf.indexOf(QUOTE, from);
    if (quote < 0) return -1;
    let backslashes = 0;
    for (let k = quote - 1; k > i && buf[k] === BACKSLASH; k--) backslashes++;
    if (backslashes % 2 === 0) return quote + 1;
    from = quote + 1;
  }
}

/** The index just past the value that starts at buf[i], strings and nesting skipped; -1 when cut short. */
function valueEnd(buf: Buffer, i: number): number {
  const first = buf[i];
  if (first === QUOTE) return stringEnd(buf, i);
  if (first === OPEN_BRACE || first === OPEN_BRACKET) {
    let depth = 0;
    for (let j = i; j < buf.length; j++) {
      const b = buf[j];
      if (b === QUOTE) {
        j = stringEnd(buf, j);
        if (j < 0) return -1;
        j -= 1;
      } else if (b === OPEN_BRACE || b === OPEN_BRACKET) depth++;
      else if (b === CLOSE_BRACE || b === CLOSE_BRACKET) {
        depth--;
        if (depth === 0) return j + 1;
      }
    }
    return -1;
  }
  // a number, true, false or null: up to the next delimiter
  let j = i;
  while (j < buf.length && buf[j] !== COMMA && buf[j] !== CLOSE_BRACE && buf[j] !== CLOSE_BRACKET && !isSpace(buf[j])) j++;
  return j === i ? -1 : j;
}

/**
 * Past the members that follow a value of the top-level object, up to its closing brace, which must end the
 * text: then that value was a top-level member. False otherwise (it was nested, or the text is cut or malformed).
 */
function restClosesObject(buf: Buffer, i: number): boolean {
  let j = skipSpace(buf, i);
  for (;;) {
    if (buf[j] === CLOSE_BRACE) return skipSpace(buf, j + 1) === buf.length;
    if (buf[j] !== COMMA) return false;
    j = skipSpace(buf, j + 1);
    if (buf[j] !== QUOTE) return false;
    j = stringEnd(buf, j);
    if (j < 0) return false;
    j = skipSpace(buf, j);
    if (buf[j] !== COLON) return false;
    j = valueEnd(buf, skipSpace(buf, j + 1));
    if (j < 0) return false;
    j = skipSpace(buf, j);
  }
}

/**
 * The parsed value of top-level member `key` of the JSON object `buf`, read from the end: `{ value }` when
 * found, null when this cannot tell (not found from the end, not an object, cut short: parse it all instead).
 */
export function tailMember(buf: Buffer, key: string): { value: unknown } | null {
  if (buf[skipSpace(buf, 0)] !== OPEN_BRACE) return null;
  const needle = `"${key}"`;
  const at = buf.lastIndexOf(needle);
  if (at < 0) return null;
  let i = skipSpace(buf, at + needle.length);
  if (buf[i] !== COLON) return null;
  i = skipSpace(buf, i + 1);
  const end = valueEnd(buf, i);
  if (end < 0 || !restClosesObject(buf, end)) return null;
  try {
    return { value: JSON.parse(buf.toString('utf8', i, end)) };
  } catch {
    return null;
  }
}

/**
 * True when `buf` is a JSON object whose top-level keys are all distinct and written without escapes (so any
 * parser, first-wins or last-wins, reads the same members as JSON.parse did); false when it cannot tell.
 */
export function uniqueTopLevelKeys(buf: Buffer): boolean {
  let i = skipSpace(buf, 0);
  if (buf[i] !== OPEN_BRACE) return false;
  const seen = new Set<string>();
  i = skipSpace(buf, i + 1);
  if (buf[i] === CLOSE_BRACE) return skipSpace(buf, i + 1) === buf.length;
  for (;;) {
    if (buf[i] !== QUOTE) return false;
    const keyEnd = stringEnd(buf, i);
    if (keyEnd < 0) return false;
    const keyStart = i + 1;
    for (let k = keyStart; k < keyEnd - 1; k++) if (buf[k] === BACKSLASH) return false;
    const key = buf.toString('latin1', keyStart, keyEnd - 1);
    if (seen.has(key)) return false;
    seen.add(key);
    i = skipSpace(buf, keyEnd);
    if (buf[i] !== COLON) return false;
    i = valueEnd(buf, skipSpace(buf, i + 1));
    if (i < 0) return false;
    i = skipSpace(buf, i);
    if (buf[i] === CLOSE_BRACE) return skipSpace(buf, i + 1) === buf.length;
    if (buf[i] !== COMMA) return false;
    i = skipSpace(buf, i + 1);
  }
}

/**
 * The client's bytes, when they say exactly what the upstream should get: the route kept them (the body needed
 * no change to validate), the model is the one the upstream is asked for (no alias to rewrite), and every
 * parser reads the same top-level members from them. Null: build the body instead.
 */
export function bytesAsSent(req: LlmRequest): Buffer | null {
  const raw = req.rawBody;
  return raw && req.body.model === req.model && uniqueTopLevelKeys(raw) ? raw : null;
}
