/**
 * Cheap checks of the /v1 request bodies, for Api's `bodyAccepts`: each says yes only to a body the route's
 * zod schema (routes/v1.ts) accepts and returns unchanged, so a well-formed request skips the schema, which
 * copies every message object. Anything else — including a model name the schema would trim — goes through
 * zod, which produces the error or the transformed body. Stricter than the schema is fine; looser never.
 */

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const isPositiveInt = (v: unknown) => typeof v === 'number' && Number.isSafeInteger(v) && v > 0;
const isInt = (v: unknown) => typeof v === 'number' && Number.isSafeInteger(v);
const absent = (v: unknown) => v === undefined || v === null;

/** 1..256 characters with nothing for trim() to remove, and no NUL. */
function isModelName(v: unknown): boolean {
  return typeof v === 'string' && v.length > 0 && v.length <= 256 && v.trim().length === v.length && !v.includes('\0');
}

function hasRoles(messages: unknown, min: number): boolean {
  if (!Array.isArray(messages) || messages.length < min) return false;
  for (const m of messages) {
    if (!isObject(m) || typeof m.role !== 'string' || m.role.length === 0) return false;
  }
  return true;
}

export function chatBodyAccepts(body: unknown): boolean {
  if (!isObject(body) || !isModelName(body.model) || !hasRoles(body.messages, 1)) return false;
  if (!absent(body.stream) && typeof body.stream !== 'boolean') return false;
  const options = body.stream_options;
  if (!absent(options) && !(isObject(options) && (options.include_usage === undefined || typeof options.include_usage === 'boolean'))) return false;
  return (absent(body.max_tokens) || isPositiveInt(body.max_tokens)) && (absent(body.max_completion_tokens) || isPositiveInt(body.max_completion_tokens));
}

export function messagesBodyAccepts(body: unknown): boolean {
  if (!isObject(body) || !isModelName(body.model) || !hasRoles(body.messages, 0)) return false;
  return isPositiveInt(body.max_tokens) && (body.stream === undefined || typeof body.stream === 'boolean');
}

function isEmbeddingsInput(input: unknown): boolean {
  if (typeof input === 'string') return true;
  if (!Array.isArray(input) || input.length === 0) return false;
  if (input.every((x) => typeof x === 'string')) return true;
  if (input.every(isInt)) return true;
  return input.every((x) => Array.isArray(x) && x.length > 0 && x.every(isInt));
}

export function embeddingsBodyAccepts(body: unknown): boolean {
  return isObject(body) && isModelName(body.model) && isEmbeddingsInput(body.input);
}
