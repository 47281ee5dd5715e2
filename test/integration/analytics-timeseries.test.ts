import crypto from 'node:crypto';
import { startTestGateway, TestGateway } from '../helpers/gateway';
import { TEST_BACKEND } from '../helpers/backend';
import type { UsageEvent } from '../../src/usage/event';
import { statusClass } from '../../src/usage/rollup-hourly';

/** GET /analytics/timeseries, the status class grouping and filter, and the hourly rollup they read. */
describe(`analytics time series (${TEST_BACKEND})`, () => {
  let gw: TestGateway;
  let admin: string, analyst: string, dev1: string;
  let dev1Id: string, dev2Id: string;
  const key1 = crypto.randomUUID();
  const key2 = crypto.randomUUID();
  const events: UsageEvent[] = [];
  const at = (iso: string) => Date.parse(iso);

  function event(ts: number, over: Partial<UsageEvent>): UsageEvent {
    return {
      ts,
      requestId: crypto.randomUUID(),
      gatewayKeyId: null,
      userId: null,
      walletEntryId: null,
      surface: 'chat',
      service: 'openai',
      model: 'gpt-4o-mini',
      status: 200,
      errorCode: null,
      latencyMs: 100,
      upstreamLatencyMs: 90,
      promptTokens: 10,
      completionTokens: 5,
      costMicros: 100,
      estimated: false,
      stream: false,
      attempts: 1,
      ...over,
    };
  }

  beforeAll(async () => {
    gw = await startTestGateway();
    admin = (await gw.user('admin')).token;
    analyst = (await gw.user('analyst')).token;
    const d1 = await gw.user('developer');
    const d2 = await gw.user('developer');
    [dev1, dev1Id, dev2Id] = [d1.token, d1.user.id, d2.user.id];
    const keyRow = (id: string, userId: string, name: string) => ({
      id,
      user_id: userId,
      name,
      environment: 'live',
      key_hash: crypto.randomBytes(32).toString('hex'),
      key_hint: 'kw_live_…test',
      scopes: JSON.stringify(['chat']),
    });
    await gw.deps.db('gateway_keys').insert([keyRow(key1, dev1Id, 'dev1 key'), keyRow(key2, dev2Id, 'dev2 key')]);
    const u1 = { userId: dev1Id, gatewayKeyId: key1 };
    const u2 = { userId: dev2Id, gatewayKeyId: key2 };
    events.push(
      event(at('2025-03-01T10:05:00Z'), { ...u1, latencyMs: 120, upstreamLatencyMs: 100 }),
      event(at('2025-03-01T10:59:59.999Z'), { ...u1, model: 'gpt-4o', costMicros: 5000, latencyMs: 300, upstreamLatencyMs: 280 }),
      event(at('2025-03-01T11:00:00Z'), { ...u2, status: 429, costMicros: 0, promptTokens: 0, completionTokens: 0, latencyMs: 3, upstreamLatencyMs: null }),
      event(at('2025-03-01T13:30:00Z'), { ...u2, status: 502, costMicros: 0, latencyMs: 900, upstreamLatencyMs: 850 }),
      event(at('2025-03-01T13:45:00Z'), { ...u1, service: 'anthropic', model: 'claude-haiku', costMicros: 2000 }),
      event(at('2025-03-02T09:00:00Z'), { ...u2, status: 401, service: null, model: null, costMicros: 0, upstreamLatencyMs: null }),
      event(at('2025-03-02T23:00:00Z'), { ...u1, status: 404, costMicros: 0, latencyMs: 50, upstreamLatencyMs: 40 }),
      event(at('2025-03-03T00:00:00Z'), { ...u2, costMicros: 700 }), // outside 2025-03-01..02
    );
    for (const e of events) gw.deps.usage.record(e);
    await gw.deps.usage.flush();
  }, 120_000);
  afterAll(() => gw.close());

  const inRange = (e: UsageEvent) => e.ts < at('2025-03-03T00:00:00Z');
  type Point = { t: string; requests: number; errors: number; costMicros: number; avgLatencyMs: number; avgAddedLatencyMs?: number };
  type Series = { group: string | null; label: string; points: Point[]; totals: { requests: number; costMicros: number } };

  it('keeps usage_hourly equal to an aggregate of the raw events, per hour and status class', async () => {
    const db = gw.deps.db;
    const fromEvents = await db.raw(`
      select to_char(date_trunc('hour', ts at time zone 'UTC'), 'YYYY-MM-DD HH24') as h,
        case when status = 429 then '429' else (status / 100)::text || 'xx' end as cls,
        count(*)::int as requests, sum(cost_micros)::int as cost, sum(latency_ms)::int as latency
      from usage_events group by 1, 2 order by 1, 2`);
    const fromRollup = await db.raw(`
      select to_char(hour at time zone 'UTC', 'YYYY-MM-DD HH24') as h, status_class as cls,
        sum(requests)::int as requests, sum(cost_micros)::int as cost, sum(latency_ms_sum)::int as latency
      from usage_hourly group by 1, 2 order by 1, 2`);
    expect(fromRollup.rows).toEqual(fromEvents.rows);
    expect(fromRollup.rows).toHaveLength(7); // 13:00 holds a 2xx and a 5xx
  });

  it('answers hourly buckets over the range, zeros where nothing happened, with the added latency', async () => {
    const res = await gw.request('/analytics/timeseries?from=2025-03-01T10:30:00Z&to=2025-03-01T14:00:00Z&bucket=hour', { token: admin });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ from: '2025-03-01T10:00:00.000Z', to: '2025-03-01T14:00:00.000Z', bucket: 'hour', groupBy: null, scope: 'all' });
    const [all] = res.body.series as Series[];
    expect(all.label).toBe('all');
    expect(all.points.map((p) => [p.t, p.requests, p.errors])).toEqual([
      ['2025-03-01T10:00:00Z', 2, 0],
      ['2025-03-01T11:00:00Z', 1, 1],
      ['2025-03-01T12:00:00Z', 0, 0],
      ['2025-03-01T13:00:00Z', 2, 1],
    ]);
    expect(all.points[0]).toMatchObject({ costMicros: 5100, avgLatencyMs: 210, avgAddedLatencyMs: 20 });
    // the 429 never reached an upstream: no added latency to average
    expect(all.points[1]).toMatchObject({ avgLatencyMs: 3, avgAddedLatencyMs: 0 });
    expect(all.points[3]).toMatchObject({ avgLatencyMs: 500, avgAddedLatencyMs: 30 });
  });

  it('groups by status class with 429 apart from the other 4xx', async () => {
    const res = await gw.request('/analytics/timeseries?from=2025-03-01&to=2025-03-02&bucket=day&groupBy=status&top=10', { token: analyst });
    expect(res.status).toBe(200);
    const byGroup = Object.fromEntries((res.body.series as Series[]).map((s) => [s.group, s.points.map((p) => p.requests)]));
    const expected: Record<string, number[]> = {};
    for (const e of events.filter(inRange)) {
      const day = new Date(e.ts).getUTCDate() - 1;
      (expected[statusClass(e.status)] ??= [0, 0])[day] += 1;
    }
    expect(byGroup).toEqual(expected);
    expect(Object.keys(byGroup).sort()).toEqual(['2xx', '429', '4xx', '5xx']);
  });

  it('keeps the top N groups by cost and folds the rest into "other"', async () => {
    const res = await gw.request('/analytics/timeseries?from=2025-03-01&to=2025-03-02&groupBy=model&top=1', { token: admin });
    const series = res.body.series as Series[];
    expect(series.map((s) => [s.group, s.label])).toEqual([
      ['gpt-4o', 'gpt-4o'],
      ['(other)', 'other'],
    ]);
    const inRangeEvents = events.filter(inRange);
    expect(series[0].totals.requests).toBe(1);
    expect(series[1].totals.requests).toBe(inRangeEvents.length - 1);
    // daily buckets by model come from usage_daily_slim, which keeps the gateway-added latency
    expect(series[0].points[0].avgAddedLatencyMs).toEqual(expect.any(Number));
    // by user they come from usage_daily_users, which has none
    const byUser = await gw.request('/analytics/timeseries?from=2025-03-01&to=2025-03-02&groupBy=user&top=1', { token: admin });
    expect((byUser.body.series as Series[])[0].points[0].avgAddedLatencyMs).toBeUndefined();
  });

  it('labels users by email and keys by name, and "none" for events without one', async () => {
    const res = await gw.request('/analytics/timeseries?from=2025-03-01&to=2025-03-02&groupBy=service&top=5', { token: admin });
    const labels = (res.body.series as Series[]).map((s) => [s.group, s.label]);
    expect(labels).toEqual(expect.arrayContaining([['openai', 'openai'], ['anthropic', 'anthropic'], [null, 'none']]));
    const keys = await gw.request('/analytics/timeseries?from=2025-03-01&to=2025-03-02&groupBy=key', { token: admin });
    expect((keys.body.series as Series[]).map((s) => s.label).sort()).toEqual(['dev1 key', 'dev2 key']);
  });

  it('pins a developer to their own series, whatever userId they ask for', async () => {
    const res = await gw.request(`/analytics/timeseries?from=2025-03-01&to=2025-03-02&groupBy=user&userId=${dev2Id}`, { token: dev1 });
    expect(res.status).toBe(200);
    expect(res.body.scope).toBe('own');
    const series = res.body.series as Series[];
    expect(series.map((s) => s.group)).toEqual([dev1Id]);
    expect(series[0].totals.requests).toBe(events.filter((e) => inRange(e) && e.userId === dev1Id).length);
  });

  it('filters /analytics/usage by status class and groups it by status, CSV equal to the JSON', async () => {
    const q = 'from=2025-03-01&to=2025-03-02&groupBy=status';
    const json = await gw.request(`/analytics/usage?${q}`, { token: analyst });
    expect(json.status).toBe(200);
    const counts = Object.fromEntries(json.body.rows.map((r: { group: string; requests: number }) => [r.group, r.requests]));
    expect(counts).toEqual({ '2xx': 3, '4xx': 2, '429': 1, '5xx': 1 });
    const csv = await gw.request(`/analytics/usage?${q}&format=csv`, { token: analyst });
    const lines = csv.text.trim().split('\r\n');
    expect(lines).toHaveLength(json.body.rows.length + 1);
    expect(lines.slice(1).map((l) => l.split(',').slice(0, 3).join(','))).toEqual(
      json.body.rows.map((r: { group: string; label: string; requests: number }) => `${r.group},${r.label},${r.requests}`),
    );
    const errorsOnly = await gw.request('/analytics/usage?from=2025-03-01&to=2025-03-02&groupBy=user&status=5xx', { token: analyst });
    expect(errorsOnly.body.rows).toEqual([expect.objectContaining({ group: dev2Id, requests: 1, errors: 1 })]);
  });

  it('reads an overview over instants from the hourly rollup', async () => {
    const res = await gw.request('/analytics/overview?from=2025-03-01T11:00:00Z&to=2025-03-01T14:00:00Z', { token: admin });
    expect(res.status).toBe(200);
    expect(res.body.totals).toMatchObject({ requests: 3, errors: 2, costMicros: 2000 });
  });

  it('defaults an hourly series to the last 24 hours', async () => {
    const res = await gw.request('/analytics/timeseries?bucket=hour', { token: dev1 });
    expect(res.status).toBe(200);
    const span = Date.parse(res.body.to) - Date.parse(res.body.from);
    expect(span).toBeGreaterThanOrEqual(24 * 3_600_000);
    expect(span).toBeLessThan(25 * 3_600_000);
    expect(res.body.series[0].points).toHaveLength(25);
  });

  it.each([
    ['from=2025-02-30', 'query.from'],
    ['from=2025-03-01T25:00:00Z', 'query.from'],
    ['from=2025-03-01T10:00:00', 'query.from'], // no time zone
    ['from=2025-03-05&to=2025-03-01', 'query.from'],
    ['from=2024-01-01&to=2025-03-01', 'query.from'],
    ['bucket=hour&from=2025-01-01&to=2025-03-01', 'query.from'],
    ['from=2025-01-01T00:00:00Z&to=2025-03-01T00:00:00Z', 'query.from'],
    ['from=2025-03-01T10:00:00Z&to=2025-03-01T10:00:00Z', 'query.from'],
    ['bucket=minute', 'query.bucket'],
    ['groupBy=day', 'query.groupBy'],
    ['status=6xx', 'query.status'],
    ['top=1000', 'query.top'],
    ['top=-1', 'query.top'],
  ])('refuses %s with a 400 naming %s, and never a 500', async (query, path) => {
    const res = await gw.request(`/analytics/timeseries?${query}`, { token: admin });
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ code: 'invalid_request', details: [expect.objectContaining({ path })] });
  });

  it('refuses a 5,000-character date with a 400', async () => {
    const res = await gw.request(`/analytics/timeseries?from=${'9'.repeat(5000)}`, { token: admin });
    expect(res.status).toBe(400);
    expect(res.body.error.details).toEqual(expect.arrayContaining([expect.objectContaining({ path: 'query.from' })]));
  });

  it('refuses anonymous callers and bad tokens', async () => {
    expect((await gw.request('/analytics/timeseries')).status).toBe(401);
    expect((await gw.request('/analytics/timeseries', { token: 'not-a-jwt' })).status).toBe(401);
  });

  it('documents the route, its parameters and its response in the OpenAPI document', async () => {
    const doc = (await gw.request('/openapi.json')).body;
    const op = doc.paths['/analytics/timeseries'].get;
    expect(op.parameters.map((p: { name: string }) => p.name)).toEqual(
      expect.arrayContaining(['from', 'to', 'bucket', 'groupBy', 'service', 'model', 'userId', 'keyId', 'status', 'top']),
    );
    expect(op.responses['200'].content['application/json'].schema.properties.series).toBeDefined();
    expect(doc.paths['/analytics/usage'].get.parameters.map((p: { name: string }) => p.name)).toContain('status');
  });
});
