import { formatResetDuration, formatUsd, retryAfterSeconds, usdToMicros, windowDrainMs } from '../../src/limits/format';
import { monthDays } from '../../src/limits/allowances';

describe('limits formatting', () => {
  it('writes reset durations the way OpenAI does', () => {
    expect(formatResetDuration(0)).toBe('0ms');
    expect(formatResetDuration(250.2)).toBe('251ms');
    expect(formatResetDuration(1000)).toBe('1s');
    expect(formatResetDuration(1001)).toBe('2s');
    expect(formatResetDuration(360_000)).toBe('6m0s');
    expect(formatResetDuration(3_723_000)).toBe('1h2m3s');
    expect(formatResetDuration(-5)).toBe('0ms');
  });

  it('writes micro-USD as exact six-place decimals', () => {
    expect(formatUsd(0)).toBe('0.000000');
    expect(formatUsd(4_998_500)).toBe('4.998500');
    expect(formatUsd(1)).toBe('0.000001');
    expect(formatUsd(-2_500_000)).toBe('-2.500000');
    expect(usdToMicros(0.1 + 0.2)).toBe(300_000);
  });

  it('estimates when a sliding window frees capacity, never beyond one window', () => {
    // 50 per minute: each unit drains in 1.2 s once the current bucket (10 s left) has ended
    expect(windowDrainMs(1, 50, 60_000, 10_000)).toBe(11_200);
    expect(windowDrainMs(50, 50, 60_000, 10_000)).toBe(60_000);
    expect(windowDrainMs(0, 50, 60_000, 10_000)).toBe(0);
  });

  it('never tells a client to retry after 0 seconds', () => {
    expect(retryAfterSeconds(0)).toBe(1);
    expect(retryAfterSeconds(1001)).toBe(2);
  });

  it('finds the days of a month, December included', () => {
    expect(monthDays('2030-01')).toEqual({ from: '2030-01-01', to: '2030-02-01' });
    expect(monthDays('2030-12')).toEqual({ from: '2030-12-01', to: '2031-01-01' });
  });
});
