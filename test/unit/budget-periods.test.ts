import { calendarPeriod, localMidnight, PeriodCalendar } from '../../src/limits/periods';

const iso = (ms: number) => new Date(ms).toISOString();

describe('budget periods', () => {
  it('aligns months, ISO weeks and days to UTC by default', () => {
    const now = Date.parse('2026-12-07T10:00:00Z'); // a Monday
    expect(calendarPeriod('monthly', 'UTC', now)).toEqual({ label: '2026-12', startMs: Date.parse('2026-12-01T00:00:00Z'), endMs: Date.parse('2027-01-01T00:00:00Z') });
    expect(calendarPeriod('weekly', 'UTC', now)).toEqual({ label: '2026-W50', startMs: Date.parse('2026-12-07T00:00:00Z'), endMs: Date.parse('2026-12-14T00:00:00Z') });
    expect(calendarPeriod('daily', 'UTC', now)).toEqual({ label: '2026-12-07', startMs: Date.parse('2026-12-07T00:00:00Z'), endMs: Date.parse('2026-12-08T00:00:00Z') });
  });

  it('aligns periods to the configured zone: a New York day starts at 05:00 UTC in winter and 04:00 in summer', () => {
    const winter = calendarPeriod('daily', 'America/New_York', Date.parse('2030-01-15T04:59:59Z'));
    expect(winter.label).toBe('2030-01-14');
    expect(iso(winter.endMs)).toBe('2030-01-15T05:00:00.000Z');
    expect(calendarPeriod('daily', 'America/New_York', Date.parse('2030-01-15T05:00:00Z')).label).toBe('2030-01-15');
    expect(iso(calendarPeriod('daily', 'America/New_York', Date.parse('2030-07-15T12:00:00Z')).startMs)).toBe('2030-07-15T04:00:00.000Z');
    // Berlin's month starts the evening before in UTC
    const m = calendarPeriod('monthly', 'Europe/Berlin', Date.parse('2030-01-31T23:30:00Z'));
    expect(m.label).toBe('2030-02');
    expect(iso(m.startMs)).toBe('2030-01-31T23:00:00.000Z');
  });

  it('keeps a day across a DST change 23 or 25 hours long', () => {
    const spring = calendarPeriod('daily', 'Europe/Berlin', Date.parse('2030-03-31T12:00:00Z'));
    expect(spring.endMs - spring.startMs).toBe(23 * 3_600_000);
    const autumn = calendarPeriod('daily', 'Europe/Berlin', Date.parse('2030-10-27T12:00:00Z'));
    expect(autumn.endMs - autumn.startMs).toBe(25 * 3_600_000);
    expect(iso(localMidnight('Europe/Berlin', 2030, 10, 28))).toBe('2030-10-27T23:00:00.000Z');
  });

  it('labels ISO weeks across a year boundary', () => {
    expect(calendarPeriod('weekly', 'UTC', Date.parse('2027-01-01T12:00:00Z')).label).toBe('2026-W53');
    expect(calendarPeriod('weekly', 'UTC', Date.parse('2029-12-31T12:00:00Z')).label).toBe('2030-W01');
  });

  it('moves to the next period exactly at the boundary, however often it is asked', () => {
    const cal = new PeriodCalendar('UTC');
    const end = Date.parse('2030-02-01T00:00:00Z');
    expect(cal.window('monthly', end - 1).label).toBe('2030-01');
    expect(cal.window('monthly', end - 1).ttlMs).toBeGreaterThan(1);
    expect(cal.window('monthly', end).label).toBe('2030-02');
    expect(cal.window('monthly', end - 1).label).toBe('2030-01'); // a clock read late still gets its own period
  });

  it('sums a rolling window over whole buckets covering at least the window', () => {
    const cal = new PeriodCalendar('UTC');
    const now = Date.parse('2030-01-15T10:20:00Z');
    const day = cal.window('rolling_24h', now);
    expect(day.rolling).toEqual({ bucketMs: 3_600_000, buckets: 25 });
    expect(now - day.startMs).toBeGreaterThanOrEqual(24 * 3_600_000);
    expect(now - day.startMs).toBeLessThan(25 * 3_600_000);
    expect(day.label).toBe('rolling_24h:2030-01-15');
    expect(cal.window('rolling_7d', now).rolling).toEqual({ bucketMs: 6 * 3_600_000, buckets: 29 });
    expect(cal.window('rolling_30d', now).rolling).toEqual({ bucketMs: 86_400_000, buckets: 31 });
  });
});
