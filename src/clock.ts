/** Injected wherever time decides an outcome (windows, monthly resets, expiry) so tests can move it. */
export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/** `YYYY-MM` of the calendar month (UTC) that `ms` falls in: the credit period. */
export function monthOf(ms: number): string {
  return new Date(ms).toISOString().slice(0, 7);
}

/** Milliseconds until the next calendar month (UTC) starts. */
export function msUntilNextMonth(ms: number): number {
  const d = new Date(ms);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1) - ms;
}
