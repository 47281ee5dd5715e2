/** Injected wherever time decides an outcome (windows, monthly resets, expiry) so tests can move it. */
export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/** The month monthOf last answered, as [start, end) in ms: every request of a month asks for the same one. */
let lastMonth = { start: 0, end: 0, text: '' };

/** `YYYY-MM` of the calendar month (UTC) that `ms` falls in: the credit period. */
export function monthOf(ms: number): string {
  if (ms >= lastMonth.start && ms < lastMonth.end) return lastMonth.text;
  const d = new Date(ms);
  const text = d.toISOString().slice(0, 7);
  // a date outside the range Date can print threw above; only a real month is remembered
  lastMonth = { start: Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1), end: Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1), text };
  return text;
}

/** Milliseconds until the next calendar month (UTC) starts. */
export function msUntilNextMonth(ms: number): number {
  const d = new Date(ms);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1) - ms;
}
