import { monthOf, msUntilNextMonth } from '../../src/clock';

describe('monthOf (remembers the last month asked for)', () => {
  it('answers the right month on both sides of a boundary, in any order', () => {
    const lastMsOfJanuary = Date.UTC(2026, 0, 31, 23, 59, 59, 999);
    const firstMsOfFebruary = Date.UTC(2026, 1, 1);
    expect(monthOf(lastMsOfJanuary)).toBe('2026-01');
    expect(monthOf(firstMsOfFebruary)).toBe('2026-02');
    // back in time (a test clock, a late event): not the remembered month
    expect(monthOf(lastMsOfJanuary)).toBe('2026-01');
    expect(monthOf(Date.UTC(2025, 11, 31, 12))).toBe('2025-12');
    expect(monthOf(Date.UTC(2026, 11, 31, 23, 59, 59, 999))).toBe('2026-12');
    expect(monthOf(Date.UTC(2027, 0, 1))).toBe('2027-01');
  });

  it('agrees with toISOString over a year of random instants', () => {
    const start = Date.UTC(2024, 0, 1);
    for (let i = 0; i < 2000; i++) {
      const ms = start + Math.floor(Math.random() * 366 * 24 * 3600 * 1000);
      expect(monthOf(ms)).toBe(new Date(ms).toISOString().slice(0, 7));
    }
  });

  it('msUntilNextMonth ends exactly where monthOf changes', () => {
    const ms = Date.UTC(2026, 1, 14, 10);
    const next = ms + msUntilNextMonth(ms);
    expect(monthOf(next - 1)).toBe('2026-02');
    expect(monthOf(next)).toBe('2026-03');
  });
});
