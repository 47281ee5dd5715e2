import { AppError } from '../../src/http/errors';
import { resolveRange } from '../../src/usage/range';
import { rollUpHourly, statusClass } from '../../src/usage/rollup-hourly';
import { toEventRow, UsageEvent } from '../../src/usage/event';

const NOW = Date.parse('2025-03-15T18:30:00Z');

function failure(input: { from?: string; to?: string }, opts?: { hourly?: boolean }): AppError {
  try {
    resolveRange(input, NOW, opts);
  } catch (err) {
    return err as AppError;
  }
  throw new Error('expected resolveRange to throw');
}

describe('usage ranges', () => {
  it('keeps dates alone daily, as before', () => {
    expect(resolveRange({ from: '2025-03-01', to: '2025-03-03' }, NOW)).toEqual({ from: '2025-03-01', to: '2025-03-03' });
  });

  it('makes an instant anywhere an hourly range, starting at its hour, a date `to` running to its end', () => {
    expect(resolveRange({ from: '2025-03-01T10:30:00Z', to: '2025-03-02' }, NOW)).toEqual({
      from: '2025-03-01',
      to: '2025-03-02',
      hours: { start: '2025-03-01T10:00:00.000Z', end: '2025-03-03T00:00:00.000Z' },
    });
    expect(resolveRange({ from: '2025-03-01T12:00:00+02:00' }, NOW).hours?.start).toBe('2025-03-01T10:00:00.000Z');
  });

  it('defaults an hourly range to the 24 hours up to now', () => {
    expect(resolveRange({}, NOW, { hourly: true }).hours).toEqual({ start: '2025-03-14T18:00:00.000Z', end: '2025-03-15T18:30:00.000Z' });
  });

  it('caps an hourly range at 31 days and a daily one at 366, and wants from before to', () => {
    expect(failure({ from: '2025-01-01', to: '2025-03-01' }, { hourly: true }).message).toMatch(/at most 31 days/);
    expect(resolveRange({ from: '2025-01-01', to: '2025-01-31' }, NOW, { hourly: true }).hours?.end).toBe('2025-02-01T00:00:00.000Z');
    expect(failure({ from: '2024-01-01', to: '2025-03-01' }).message).toMatch(/at most 366/);
    expect(failure({ from: '2025-03-01T10:00:00Z', to: '2025-03-01T09:00:00Z' }).param).toBe('from');
    expect(failure({ from: '2025-03-01T10:00:00' }).param).toBe('from'); // no zone: ambiguous
    expect(failure({ to: '2025-02-30T10:00:00Z' }).param).toBe('to');
  });
});

describe('hourly rollup', () => {
  const base: UsageEvent = {
    ts: Date.parse('2025-03-01T10:15:00Z'),
    requestId: 'r',
    gatewayKeyId: null,
    userId: null,
    walletEntryId: null,
    surface: 'chat',
    service: 'openai',
    model: 'gpt-4o',
    status: 200,
    errorCode: null,
    latencyMs: 100,
    upstreamLatencyMs: 70,
    promptTokens: 1,
    completionTokens: 2,
    costMicros: 3,
    estimated: false,
    stream: false,
    attempts: 1,
  };

  it('classes statuses by hundred, with 429 apart', () => {
    expect([200, 204, 302, 400, 404, 429, 499, 500, 502, 529].map(statusClass)).toEqual([
      '2xx', '2xx', '3xx', '4xx', '4xx', '429', '4xx', '5xx', '5xx', '5xx',
    ]);
  });

  it('sums by UTC hour and status class, averaging added latency over calls that reached an upstream', () => {
    const rows = rollUpHourly(
      [
        base,
        { ...base, ts: Date.parse('2025-03-01T10:59:59.999Z'), latencyMs: 50, upstreamLatencyMs: 45 },
        { ...base, status: 429, upstreamLatencyMs: null, latencyMs: 2 },
        { ...base, ts: Date.parse('2025-03-01T11:00:00Z') },
      ].map(toEventRow),
    );
    expect(rows.map((r) => [r.hour, r.status_class, r.requests, r.errors, r.upstream_requests, r.added_latency_ms_sum])).toEqual([
      ['2025-03-01T10:00:00.000Z', '2xx', 2, 0, 2, 35],
      ['2025-03-01T10:00:00.000Z', '429', 1, 1, 0, 0],
      ['2025-03-01T11:00:00.000Z', '2xx', 1, 0, 1, 30],
    ]);
  });
});
