import type { RollingWindow } from '../store/kv';

/**
 * Budget periods of teams and the organisation (issue 17): calendar periods aligned in a configurable time zone
 * (BUDGET_TIME_ZONE, default UTC), or rolling windows.
 *
 * - `monthly`, `weekly` (ISO weeks, Monday to Sunday), `daily`: the counter's key carries the period's label
 *   ('2026-12', '2026-W49', '2026-12-07', in the zone), so every node moves to a fresh counter at the same
 *   instant — the boundary as the injected clock sees it — and the reset happens exactly once, with no job and no
 *   coordination. The old counter expires a little after its period ends.
 * - `rolling_24h`, `rolling_7d`, `rolling_30d`: one hash per budget whose fields are time buckets (1 h, 6 h and
 *   1 day long: 24, 28 and 30 buckets per window), summed by the admit script. The sum covers the window plus the
 *   current bucket's elapsed part: spend leaves the total between one window and one window + one bucket after it
 *   was made — never earlier, so no span of one window length can ever spend more than the budget.
 */

export type BudgetPeriod = 'monthly' | 'weekly' | 'daily' | 'rolling_24h' | 'rolling_7d' | 'rolling_30d';
export const BUDGET_PERIODS: BudgetPeriod[] = ['monthly', 'weekly', 'daily', 'rolling_24h', 'rolling_7d', 'rolling_30d'];

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

const ROLLING: Record<Extract<BudgetPeriod, `rolling_${string}`>, { windowMs: number; bucketMs: number; label: 'daily' | 'weekly' | 'monthly' }> = {
  rolling_24h: { windowMs: DAY, bucketMs: HOUR, label: 'daily' },
  rolling_7d: { windowMs: 7 * DAY, bucketMs: 6 * HOUR, label: 'weekly' },
  rolling_30d: { windowMs: 30 * DAY, bucketMs: DAY, label: 'monthly' },
};

export interface PeriodWindow {
  /**
   * The label the budget counts under: a calendar period's own label; for a rolling window `<period>:<calendar
   * label>` (e.g. 'rolling_24h:2026-12-07'), which alerts use to fire a threshold once per calendar day / week /
   * month of a rolling budget (the counter itself is not keyed by it).
   */
  label: string;
  /** calendar: where the period starts and ends (ms); rolling: the window's oldest counted instant and now */
  startMs: number;
  endMs: number;
  /** set for rolling windows: the counter's buckets */
  rolling?: RollingWindow;
  /** how long the counter must live after this admit */
  ttlMs: number;
}

export function isRolling(period: BudgetPeriod): period is keyof typeof ROLLING {
  return period.startsWith('rolling_');
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(zone: string): Intl.DateTimeFormat {
  let f = formatters.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: zone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric',
    });
    formatters.set(zone, f);
  }
  return f;
}

/** The zone's wall-clock fields at `ms`. */
function wallClock(zone: string, ms: number): { y: number; m: number; d: number; h: number; mi: number; s: number } {
  const out: Record<string, number> = {};
  for (const p of formatter(zone).formatToParts(new Date(ms))) if (p.type !== 'literal') out[p.type] = Number(p.value);
  return { y: out.year, m: out.month, d: out.day, h: out.hour === 24 ? 0 : out.hour, mi: out.minute, s: out.second };
}

/** The zone's offset from UTC at `ms` (positive east of Greenwich). */
function offsetMs(zone: string, ms: number): number {
  const w = wallClock(zone, ms);
  return Date.UTC(w.y, w.m - 1, w.d, w.h, w.mi, w.s) - (ms - (((ms % 1000) + 1000) % 1000));
}

/** The instant a local calendar day starts in `zone` (month and day may overflow: Date.UTC normalises them). */
export function localMidnight(zone: string, y: number, m: number, d: number): number {
  const naive = Date.UTC(y, m - 1, d);
  let t = naive - offsetMs(zone, naive);
  t = naive - offsetMs(zone, t); // across a DST change the offset at the result is the one that counts
  return t;
}

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

/** ISO-8601 week of a calendar date: its year and number. */
function isoWeek(y: number, m: number, d: number): { year: number; week: number } {
  const date = Date.UTC(y, m - 1, d);
  const dow = (new Date(date).getUTCDay() + 6) % 7; // Monday = 0
  const thursday = new Date(date + (3 - dow) * DAY);
  const year = thursday.getUTCFullYear();
  const week = 1 + Math.floor((thursday.getTime() - Date.UTC(year, 0, 1)) / (7 * DAY));
  return { year, week };
}

/** A calendar period (month, ISO week, day) in `zone` containing `nowMs`. */
export function calendarPeriod(kind: 'monthly' | 'weekly' | 'daily', zone: string, nowMs: number): { label: string; startMs: number; endMs: number } {
  const { y, m, d } = wallClock(zone, nowMs);
  if (kind === 'monthly') {
    return { label: `${y}-${pad(m)}`, startMs: localMidnight(zone, y, m, 1), endMs: localMidnight(zone, y, m + 1, 1) };
  }
  if (kind === 'daily') {
    return { label: `${y}-${pad(m)}-${pad(d)}`, startMs: localMidnight(zone, y, m, d), endMs: localMidnight(zone, y, m, d + 1) };
  }
  const dow = (new Date(Date.UTC(y, m - 1, d)).getUTCDay() + 6) % 7;
  const { year, week } = isoWeek(y, m, d);
  return { label: `${year}-W${pad(week)}`, startMs: localMidnight(zone, y, m, d - dow), endMs: localMidnight(zone, y, m, d - dow + 7) };
}

/** A counter outlives its period by this much, so a call admitted just before the boundary can still settle. */
export const PERIOD_TTL_MARGIN_MS = 2 * DAY;

/**
 * Works out periods for the request path: a calendar period is computed once (Intl is not free) and reused until
 * the clock leaves it; a rolling window costs nothing.
 */
export class PeriodCalendar {
  private readonly memo = new Map<string, { label: string; startMs: number; endMs: number }>();

  constructor(readonly zone: string) {}

  window(period: BudgetPeriod, nowMs: number): PeriodWindow {
    if (isRolling(period)) {
      const r = ROLLING[period];
      const buckets = r.windowMs / r.bucketMs + 1; // the window plus the current, partly elapsed bucket
      const index = Math.floor(nowMs / r.bucketMs);
      return {
        label: `${period}:${this.calendar(r.label, nowMs).label}`,
        startMs: (index - buckets + 1) * r.bucketMs,
        endMs: nowMs,
        rolling: { bucketMs: r.bucketMs, buckets },
        ttlMs: r.windowMs + 2 * r.bucketMs,
      };
    }
    const c = this.calendar(period, nowMs);
    return { ...c, ttlMs: c.endMs - nowMs + PERIOD_TTL_MARGIN_MS };
  }

  calendar(kind: 'monthly' | 'weekly' | 'daily', nowMs: number): { label: string; startMs: number; endMs: number } {
    const hit = this.memo.get(kind);
    if (hit && hit.startMs <= nowMs && nowMs < hit.endMs) return hit;
    const fresh = calendarPeriod(kind, this.zone, nowMs);
    this.memo.set(kind, fresh);
    return fresh;
  }
}
