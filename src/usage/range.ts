import { badRequest } from '../http/errors';
import { dayOf, isIsoDate, MAX_PERIOD_DAYS, Period, resolvePeriod } from './period';

/**
 * A usage range for the console: whole UTC days (`YYYY-MM-DD`, read from usage_daily where it can be) or
 * instants (ISO 8601 with `Z` or an offset, read from usage_hourly, rounded down to the hour).
 */
export interface UsageRange extends Period {
  /** set when the range needs hour precision: half-open [start, end) as ISO instants */
  hours?: { start: string; end: string };
}

/** usage_hourly grows with the events: hourly reads are kept to a month. */
export const MAX_HOURLY_DAYS = 31;
const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;
const INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/i;

export const isInstant = (v: string) => INSTANT.test(v) && isIsoDate(v.slice(0, 10)) && Number.isFinite(Date.parse(v));
export const isDateOrInstant = (v: string) => isIsoDate(v) || isInstant(v);

const invalid = (param: 'from' | 'to', message: string) =>
  badRequest(message, { param, details: [{ path: `query.${param}`, message }] });

/** Start of the hour an instant falls in, as an ISO instant. */
export const floorHour = (ms: number) => new Date(Math.floor(ms / HOUR_MS) * HOUR_MS).toISOString();

/**
 * Resolves `from` / `to` (each a date or an instant) into a range. Dates alone keep the daily rules of
 * resolvePeriod (default the last 30 days, at most 366). An instant anywhere — or `hourly`, which needs hour
 * precision — makes an hourly range: a date counts from its midnight (`from`) or up to its end (`to`); the default
 * is the 24 hours up to now; at most MAX_HOURLY_DAYS days. Failures are 400s naming the parameter.
 */
export function resolveRange(input: { from?: string; to?: string }, nowMs: number, opts: { hourly?: boolean } = {}): UsageRange {
  for (const param of ['from', 'to'] as const) {
    const v = input[param];
    if (v !== undefined && !isDateOrInstant(v)) {
      throw invalid(param, `${param} must be a date YYYY-MM-DD or an ISO 8601 instant such as 2025-03-01T12:00:00Z`);
    }
  }
  const anyInstant = [input.from, input.to].some((v) => v !== undefined && isInstant(v));
  if (!anyInstant && !opts.hourly) return resolvePeriod(input, nowMs);
  if (!anyInstant && input.from === undefined && input.to === undefined) {
    return hourlyRange(nowMs - 24 * HOUR_MS, nowMs);
  }
  const endMs = input.to === undefined ? nowMs : isInstant(input.to) ? Date.parse(input.to) : Date.parse(input.to) + DAY_MS;
  const startMs = input.from === undefined ? endMs - 24 * HOUR_MS : Date.parse(input.from);
  if (startMs >= endMs) throw invalid('from', `from (${input.from}) must be before to (${input.to ?? 'now'})`);
  const days = (endMs - startMs) / DAY_MS;
  if (days > MAX_HOURLY_DAYS) {
    throw invalid('from', `an hourly range may cover at most ${MAX_HOURLY_DAYS} days; this one covers ${Math.ceil(days)}`);
  }
  return hourlyRange(startMs, endMs);
}

function hourlyRange(startMs: number, endMs: number): UsageRange {
  return {
    from: dayOf(startMs),
    to: dayOf(endMs - 1),
    hours: { start: floorHour(startMs), end: new Date(endMs).toISOString() },
  };
}

/** The instants a range covers, half-open; a daily range runs from its first midnight to the day after its last. */
export function rangeBounds(r: UsageRange): { start: string; end: string } {
  if (r.hours) return r.hours;
  return { start: `${r.from}T00:00:00.000Z`, end: new Date(Date.parse(r.to) + DAY_MS).toISOString() };
}

export { MAX_PERIOD_DAYS };
