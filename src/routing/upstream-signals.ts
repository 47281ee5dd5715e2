/**
 * Reading what an upstream says about its own capacity: `Retry-After` on a 429, and the rate-limit headers
 * OpenAI and Anthropic send on every answer, which let us steer away from a key before it hits a 429.
 */

export type HeaderBag = Record<string, string | string[] | undefined>;

/** How long to cool an entry down when the upstream gives no hint, and the most we ever honour. */
export const COOLDOWN_MS = {
  rate_limited: 30_000,
  server_error: 5_000,
  overloaded: 10_000,
  timeout: 10_000,
  connection_error: 5_000,
  max: 10 * 60_000,
} as const;

function header(headers: HeaderBag | undefined, name: string): string | undefined {
  if (!headers) return undefined;
  const value = headers[name] ?? headers[name.toLowerCase()];
  const first = Array.isArray(value) ? value[0] : value;
  return typeof first === 'string' && first.trim() !== '' ? first.trim() : undefined;
}

/** `Retry-After` (delta seconds or an HTTP date) or OpenAI's `retry-after-ms`, in ms from `nowMs`. */
export function parseRetryAfter(headers: HeaderBag | undefined, nowMs: number): number | undefined {
  const ms = header(headers, 'retry-after-ms');
  if (ms && /^\d+(\.\d+)?$/.test(ms)) return Math.ceil(Number(ms));
  const value = header(headers, 'retry-after');
  if (!value) return undefined;
  if (/^\d+(\.\d+)?$/.test(value)) return Math.ceil(Number(value) * 1000);
  // An HTTP date names its day and month; Date.parse alone would read '-5' as a year.
  const date = /[A-Za-z]{3}/.test(value) ? Date.parse(value) : NaN;
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - nowMs);
}

const DURATION_PART = /(\d+(?:\.\d+)?)(ms|h|m|s)/g;
const UNIT_MS: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1 };

/** OpenAI's reset durations: Go-style `1s`, `6m0s`, `20ms`, `1h2m3.5s`. */
export function parseGoDuration(text: string): number | undefined {
  if (!/^(\d+(\.\d+)?(ms|h|m|s))+$/.test(text)) return undefined;
  let total = 0;
  for (const match of text.matchAll(DURATION_PART)) total += Number(match[1]) * UNIT_MS[match[2]];
  return Math.ceil(total);
}

/**
 * When the upstream reports no requests or tokens left, the ms until its window resets; undefined while it
 * still has capacity. A missing or unreadable reset counts as one second, so traffic comes back soon.
 */
export function exhaustedFor(headers: HeaderBag | undefined, nowMs: number): number | undefined {
  let longest: number | undefined;
  const note = (ms: number | undefined) => {
    const value = ms === undefined ? 1000 : ms;
    longest = Math.max(longest ?? 0, value);
  };
  for (const kind of ['requests', 'tokens']) {
    if (header(headers, `x-ratelimit-remaining-${kind}`) === '0') {
      const reset = header(headers, `x-ratelimit-reset-${kind}`);
      note(reset ? parseGoDuration(reset) ?? (/^\d+$/.test(reset) ? Number(reset) * 1000 : undefined) : undefined);
    }
  }
  for (const kind of ['requests', 'tokens', 'input-tokens', 'output-tokens']) {
    if (header(headers, `anthropic-ratelimit-${kind}-remaining`) === '0') {
      const reset = header(headers, `anthropic-ratelimit-${kind}-reset`);
      const at = reset ? Date.parse(reset) : NaN;
      note(Number.isNaN(at) ? undefined : Math.max(0, at - nowMs));
    }
  }
  return longest === undefined ? undefined : Math.min(longest, COOLDOWN_MS.max);
}

/** How long an entry sits out after a failed attempt. */
export function cooldownFor(
  reason: keyof Omit<typeof COOLDOWN_MS, 'max'>,
  retryAfterMs: number | undefined,
): number {
  const base = retryAfterMs !== undefined && retryAfterMs >= 0 ? retryAfterMs : COOLDOWN_MS[reason];
  return Math.min(Math.max(base, 250), COOLDOWN_MS.max);
}
