import { boundedMemo } from '../memo';

/** Key formats of the built-in services; seeds store these as each service's `keyPattern`. */
export const BUILTIN_KEY_PATTERNS: Record<string, string> = {
  // Lenient on the middle part so api03, admin01 and OAuth (oat01) keys are all recognised.
  anthropic: '^sk-ant-[A-Za-z0-9_-]{20,}$',
  openai: '^sk-(?!ant-|or-)(proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,}$',
  openrouter: '^sk-or-v1-[A-Za-z0-9]{20,}$',
  groq: '^gsk_[A-Za-z0-9]{20,}$',
  xai: '^xai-[A-Za-z0-9]{20,}$',
  stripe: '^(sk|rk)_(live|test)_[A-Za-z0-9]{10,}$',
  googlemaps: '^AIza[0-9A-Za-z_-]{35}$',
  openweather: '^[a-f0-9]{32}$',
};

export interface DetectableService {
  slug: string;
  /** A service without a pattern is never detected; it must be named explicitly. */
  keyPattern: string | null;
}

export type DetectResult =
  | { ok: true; service: string }
  | { ok: false; reason: 'unknown' | 'ambiguous'; candidates: string[] };

const MAX_PATTERN_LENGTH = 1000;
// Patterns come from admins, so the cache is bounded rather than trusted to stay small.
const compiled = boundedMemo(500, (source: string): RegExp | null => {
  if (source === '' || source.length > MAX_PATTERN_LENGTH) return null;
  try {
    return new RegExp(source);
  } catch {
    return null;
  }
});

function compile(source: string): RegExp | null {
  return typeof source === 'string' ? compiled(source) : null;
}

/** For validating an admin's `keyPattern` before it is saved. */
export function isValidPattern(source: string): boolean {
  return compile(source) !== null;
}

/** Which service a secret belongs to, judged by its format alone. Invalid patterns are skipped. */
export function detectService(secret: string, services: readonly DetectableService[]): DetectResult {
  const matches = new Set<string>();
  for (const service of services) {
    if (service.keyPattern == null) continue;
    const regex = compile(service.keyPattern);
    if (regex && regex.test(secret)) matches.add(service.slug);
  }
  const candidates = [...matches].sort();
  if (candidates.length === 1) return { ok: true, service: candidates[0] };
  if (candidates.length === 0) return { ok: false, reason: 'unknown', candidates };
  return { ok: false, reason: 'ambiguous', candidates };
}

/** Stripe-style test keys go to the test environment; every other format is live by default. */
export function defaultEnvironment(secret: string): 'live' | 'test' {
  return /^(sk|rk|pk)_test_/.test(secret) ? 'test' : 'live';
}
