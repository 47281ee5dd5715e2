import { toEventRow, NO_ID, UsageEvent } from '../../src/usage/event';
import { rollUpEvents } from '../../src/usage/rollup';
import { columnArrays, pgArrayLiteral } from '../../src/usage/pg-array';

const KEY = '6f1c1f5e-3c1a-4d7e-9a51-1f2b3c4d5e6f';
const USER = '0b9e8a2c-7d6f-4e5a-8b3c-2d1e0f9a8b7c';

function event(over: Partial<UsageEvent> = {}): UsageEvent {
  return {
    ts: Date.UTC(2025, 2, 1, 12),
    requestId: 'req',
    gatewayKeyId: KEY,
    userId: USER,
    walletEntryId: null,
    surface: 'chat',
    service: 'openai',
    model: 'gpt-4o-mini',
    status: 200,
    errorCode: null,
    latencyMs: 100,
    upstreamLatencyMs: 80,
    promptTokens: 10,
    completionTokens: 5,
    costMicros: 1000,
    estimated: false,
    stream: false,
    attempts: 1,
    ...over,
  };
}

describe('rollUpEvents', () => {
  it('sums events with the same UTC day and dimensions into one row', () => {
    const rows = rollUpEvents(
      [
        event(),
        event({ ts: Date.UTC(2025, 2, 1, 23, 59, 59, 999), status: 429, promptTokens: 0, completionTokens: 0, costMicros: 0, latencyMs: 3 }),
        event({ status: 500, latencyMs: 7, costMicros: 250 }),
      ].map(toEventRow),
    );
    expect(rows).toEqual([
      {
        day: '2025-03-01',
        gateway_key_id: KEY,
        user_id: USER,
        wallet_entry_id: NO_ID,
        team_id: NO_ID, // a key in no team: organisation level
        service: 'openai',
        model: 'gpt-4o-mini',
        requests: 3,
        errors: 2,
        prompt_tokens: 20,
        completion_tokens: 10,
        cost_micros: 1250,
        latency_ms_sum: 110,
      },
    ]);
  });

  it('splits on the UTC day boundary and on every dimension, mapping nulls to the sentinels', () => {
    const rows = rollUpEvents(
      [
        event(),
        event({ ts: Date.UTC(2025, 2, 2, 0, 0, 0, 0) }),
        event({ model: 'gpt-4o' }),
        event({ service: null, model: null, gatewayKeyId: null, userId: null, status: 401 }),
      ].map(toEventRow),
    );
    expect(rows).toHaveLength(4);
    expect(rows.find((r) => r.service === '')).toMatchObject({
      model: '',
      gateway_key_id: NO_ID,
      user_id: NO_ID,
      errors: 1,
    });
    expect(rows.map((r) => r.day).sort()).toEqual(['2025-03-01', '2025-03-01', '2025-03-01', '2025-03-02']);
  });

  it('treats differently cased uuids as one key (PostgreSQL compares uuids without case)', () => {
    const rows = rollUpEvents([event(), event({ gatewayKeyId: KEY.toUpperCase(), userId: USER.toUpperCase() })].map(toEventRow));
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ gateway_key_id: KEY, user_id: USER, requests: 2 });
  });

  it('returns rows in one deterministic key order whatever the input order', () => {
    const events = [
      event({ service: 'b' }),
      event({ service: 'a' }),
      event({ ts: Date.UTC(2025, 1, 1) }),
      event({ userId: null }),
    ].map(toEventRow);
    const forward = rollUpEvents(events);
    expect(rollUpEvents([...events].reverse())).toEqual(forward);
    expect(forward[0].day).toBe('2025-02-01');
  });

  it('rounds fractional measurements to the integer columns', () => {
    const row = toEventRow(event({ latencyMs: 12.6, upstreamLatencyMs: 3.2, costMicros: 10.5 }));
    expect(row).toMatchObject({ latency_ms: 13, upstream_latency_ms: 3, cost_micros: 11, ts: '2025-03-01T12:00:00.000Z' });
    expect(toEventRow(event({ upstreamLatencyMs: null })).upstream_latency_ms).toBeNull();
  });
});

describe('pgArrayLiteral', () => {
  it('quotes every string, escapes backslashes and quotes, and keeps NULL distinct from "NULL"', () => {
    expect(pgArrayLiteral(['a', 'b,c', 'say "hi"', 'back\\slash', '{x}', 'NULL', null, undefined])).toBe(
      '{"a","b,c","say \\"hi\\"","back\\\\slash","{x}","NULL",NULL,NULL}',
    );
    expect(pgArrayLiteral([1, 2.5, true, false])).toBe('{1,2.5,true,false}');
    expect(pgArrayLiteral([])).toBe('{}');
  });

  it('turns rows into one literal per column, in column order', () => {
    expect(columnArrays([{ a: 1, b: 'x' }, { a: 2, b: null }], ['b', 'a'])).toEqual(['{"x",NULL}', '{1,2}']);
  });
});
