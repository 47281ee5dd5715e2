/**
 * How limits are shown to clients: OpenAI-style durations for the `x-ratelimit-reset-*` headers, decimal
 * USD for credits, and the time a sliding window needs to free capacity.
 */

export const MICROS_PER_USD = 1_000_000;

/**
 * A duration the way OpenAI writes its reset headers (Go's `time.Duration` format): `250ms` under a second,
 * otherwise whole seconds rounded up, as `7s`, `6m0s`, `1h2m3s`.
 */
export function formatResetDuration(ms: number): string {
  const clamped = Math.max(0, Math.ceil(ms));
  if (clamped < 1000) return `${clamped}ms`;
  const total = Math.ceil(clamped / 1000);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  if (h > 0) return `${h}h${m}m${s}s`;
  if (m > 0) return `${m}m${s}s`;
  return `${s}s`;
}

/** Micro-USD as a decimal USD string with six places (`4.998500`), exact for any integer input. */
export function formatUsd(micros: number): string {
  const sign = micros < 0 ? '-' : '';
  const abs = Math.abs(Math.round(micros));
  const whole = Math.floor(abs / MICROS_PER_USD);
  const frac = String(abs % MICROS_PER_USD).padStart(6, '0');
  return `${sign}${whole}.${frac}`;
}

/** USD from a client (up to six decimals) to integer micro-USD. */
export function usdToMicros(usd: number): number {
  return Math.round(usd * MICROS_PER_USD);
}

export function microsToUsd(micros: number): number {
  return micros / MICROS_PER_USD;
}

/**
 * Estimated ms until a sliding window has freed `units` of capacity. The store reports only the weighted count
 * and when the current bucket ends (`bucketResetMs`): what sits in the current bucket counts fully until then
 * and drains over the following window at the rate it was filled. Never more than one window, never below 0.
 */
export function windowDrainMs(units: number, limit: number, windowMs: number, bucketResetMs: number): number {
  if (units <= 0) return 0;
  const perUnit = windowMs / Math.max(1, limit);
  return Math.min(windowMs, Math.max(0, bucketResetMs) + Math.ceil(units * perUnit));
}

/** `Retry-After` is whole seconds, at least 1 (0 would invite an immediate retry that fails the same way). */
export function retryAfterSeconds(ms: number): number {
  return Math.max(1, Math.ceil(ms / 1000));
}
