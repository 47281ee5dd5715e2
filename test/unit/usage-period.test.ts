import { AppError } from '../../src/http/errors';
import { isIsoDate, resolvePeriod } from '../../src/usage/period';

const NOW = Date.UTC(2025, 2, 15, 18, 30);

function failure(input: { from?: string; to?: string }): AppError {
  try {
    resolvePeriod(input, NOW);
  } catch (err) {
    return err as AppError;
  }
  throw new Error('expected resolvePeriod to throw');
}

describe('usage periods', () => {
  it('recognises real calendar dates only', () => {
    expect(isIsoDate('2024-02-29')).toBe(true);
    expect(isIsoDate('2025-02-29')).toBe(false);
    expect(isIsoDate('2025-13-01')).toBe(false);
    expect(isIsoDate('2025-3-1')).toBe(false);
    expect(isIsoDate('2025-03-01T00:00:00Z')).toBe(false);
  });

  it('defaults to the last 30 days up to today (UTC)', () => {
    expect(resolvePeriod({}, NOW)).toEqual({ from: '2025-02-14', to: '2025-03-15' });
    expect(resolvePeriod({ to: '2025-01-30' }, NOW)).toEqual({ from: '2025-01-01', to: '2025-01-30' });
    expect(resolvePeriod({ from: '2025-03-01' }, NOW)).toEqual({ from: '2025-03-01', to: '2025-03-15' });
  });

  it('accepts a single day and up to 366 days', () => {
    expect(resolvePeriod({ from: '2025-03-01', to: '2025-03-01' }, NOW)).toEqual({ from: '2025-03-01', to: '2025-03-01' });
    expect(resolvePeriod({ from: '2024-01-01', to: '2024-12-31' }, NOW).to).toBe('2024-12-31'); // leap year: 366 days
  });

  it('refuses from after to, ranges over 366 days and malformed dates with a 400 naming the parameter', () => {
    const reversed = failure({ from: '2025-03-02', to: '2025-03-01' });
    expect(reversed).toBeInstanceOf(AppError);
    expect(reversed.status).toBe(400);
    expect(reversed.param).toBe('from');
    expect(failure({ from: '2023-12-31', to: '2024-12-31' }).message).toMatch(/367 days/);
    const bad = failure({ to: '2025-02-30' });
    expect(bad.param).toBe('to');
    expect(bad.details).toEqual([{ path: 'query.to', message: expect.stringContaining('YYYY-MM-DD') }]);
  });
});
