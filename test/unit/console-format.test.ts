import { formatDate, formatMicroDollars, parseDollarsToMicro } from '../../web/src/lib/format';

/** The console formats money in one place: integer micro-dollars shown in dollars without hiding precision. */
describe('console money and date formatting', () => {
  it('shows micro-dollars as dollars with at least 2 and up to 6 decimals', () => {
    expect(formatMicroDollars(0)).toBe('$0.00');
    expect(formatMicroDollars(1_000_000)).toBe('$1.00');
    expect(formatMicroDollars(1_234_567)).toBe('$1.234567');
    expect(formatMicroDollars(1)).toBe('$0.000001');
    expect(formatMicroDollars(-2_500_000)).toBe('-$2.50');
    expect(formatMicroDollars(12_345_678_000_000)).toBe('$12,345,678.00');
    expect(formatMicroDollars(null)).toBe('—');
  });

  it('reads dollars a person typed into exact micro-dollars, refusing what is not an amount', () => {
    expect(parseDollarsToMicro('25')).toBe(25_000_000);
    expect(parseDollarsToMicro('$0.5')).toBe(500_000);
    expect(parseDollarsToMicro('0.000001')).toBe(1);
    expect(parseDollarsToMicro('-1.25')).toBe(-1_250_000);
    expect(parseDollarsToMicro('0.1234567')).toBeNull();
    expect(parseDollarsToMicro('ten')).toBeNull();
    expect(parseDollarsToMicro('')).toBeNull();
  });

  it('gives the exact UTC instant for the hover title', () => {
    expect(formatDate('2026-12-07T01:02:03.456Z').utc).toBe('2026-12-07T01:02:03.456Z');
    expect(formatDate(null)).toEqual({ text: '—', utc: '' });
  });
});
