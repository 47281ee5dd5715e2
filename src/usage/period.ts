import { badRequest } from '../http/errors';

/** An inclusive range of UTC days, as `YYYY-MM-DD`. */
export interface Period {
  from: string;
  to: string;
}

export const DEFAULT_PERIOD_DAYS = 30;
export const MAX_PERIOD_DAYS = 366;
const DAY_MS = 86_400_000;

/** A real calendar date written `YYYY-MM-DD` (2024-02-30 is not). */
export function isIsoDate(value: string): boolean {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
  if (!m) return false;
  const d = new Date(Date.UTC(+m[1], +m[2] - 1, +m[3]));
  return d.toISOString().slice(0, 10) === value;
}

export const dayOf = (ms: number) => new Date(ms).toISOString().slice(0, 10);
const daysBetween = (from: string, to: string) => Math.round((Date.parse(to) - Date.parse(from)) / DAY_MS);

/**
 * Fills in the defaults (the last 30 days up to today, UTC) and checks the range: from ≤ to, at most
 * MAX_PERIOD_DAYS days. Failures are 400s naming the parameter, for the API and the CLI alike.
 */
export function resolvePeriod(input: { from?: string; to?: string }, nowMs: number): Period {
  const invalid = (param: 'from' | 'to', message: string) =>
    badRequest(message, { param, details: [{ path: `query.${param}`, message }] });
  for (const param of ['from', 'to'] as const) {
    const v = input[param];
    if (v !== undefined && !isIsoDate(v)) throw invalid(param, `${param} must be a date YYYY-MM-DD`);
  }
  const to = input.to ?? dayOf(nowMs);
  const from = input.from ?? dayOf(Date.parse(to) - (DEFAULT_PERIOD_DAYS - 1) * DAY_MS);
  if (from > to) throw invalid('from', `from (${from}) must not be after to (${to})`);
  const days = daysBetween(from, to) + 1;
  if (days > MAX_PERIOD_DAYS) {
    throw invalid('from', `the period covers ${days} days; at most ${MAX_PERIOD_DAYS} are allowed`);
  }
  return { from, to };
}
