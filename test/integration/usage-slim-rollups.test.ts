import crypto from 'node:crypto';
import { startTestGateway, TestGateway } from '../helpers/gateway';
import { TEST_BACKEND } from '../helpers/backend';
import type { UsageEvent } from '../../src/usage/event';
import { toEventRow } from '../../src/usage/event';
import { writeUsageBatch } from '../../src/usage/batch-write';
import { pickRollup } from '../../src/usage/analytics';
import * as m014 from '../../migrations/014_usage_slim_rollups';

const pool = (n: number) => Array.from({ length: n }, () => crypto.randomUUID());
const USERS = [...pool(3), null];
const KEYS = [...pool(4), null];
const TEAMS = [...pool(2), null];
const SERVICES = ['openai', 'anthropic', null];
const MODELS = ['gpt-4o-mini', 'claude-haiku', null];
const STATUSES = [200, 200, 201, 401, 429, 502, 404];
// spans a UTC midnight: two days, several hours
const T0 = Date.UTC(2025, 5, 30, 22, 10);

function makeEvent(i: number): UsageEvent {
  return {
    id: crypto.randomUUID(),
    ts: T0 + i * 61_000,
    requestId: `req_${i}`,
    gatewayKeyId: KEYS[i % KEYS.length],
    userId: USERS[(i >> 1) % USERS.length],
    walletEntryId: null,
    surface: 'chat',
    service: SERVICES[(i >> 2) % SERVICES.length],
    model: MODELS[i % MODELS.length],
    status: STATUSES[i % STATUSES.length],
    errorCode: null,
    latencyMs: 5 + (i % 301),
    upstreamLatencyMs: i % 5 === 0 ? null : 3 + (i % 200),
    promptTokens: (i * 13) % 900,
    completionTokens: (i * 7) % 400,
    costMicros: (i * 1_337) % 250_000,
    estimated: false,
    stream: false,
    attempts: 1,
    teamId: TEAMS[i % TEAMS.length],
  };
}

const BASE = 'sum(requests)::int8 as requests, sum(errors)::int8 as errors, sum(prompt_tokens)::int8 as prompt_tokens, sum(completion_tokens)::int8 as completion_tokens, sum(cost_micros)::int8 as cost_micros, sum(latency_ms_sum)::int8 as latency_ms_sum';
const ADDED = 'sum(upstream_requests)::int8 as upstream_requests, sum(added_latency_ms_sum)::int8 as added_latency_ms_sum';

/** The slim rollups (migration 014): kept with the wide ones, idempotently, backfilled from them; the slimmest one read. */
describe(`slim usage rollups (${TEST_BACKEND})`, () => {
  let gw: TestGateway;
  const rows = Array.from({ length: 400 }, (_, i) => toEventRow(makeEvent(i)));

  // what each slim table must hold: the wide rollups summed without the dimensions it drops
  const expected = {
    usage_hourly_slim: `select to_char(hour at time zone 'UTC', 'YYYY-MM-DD HH24') as t, service, model, status_class, team_id, ${BASE}, ${ADDED}
      from usage_hourly group by 1, 2, 3, 4, 5 order by 1, 2, 3, 4, 5`,
    usage_daily_slim: `select to_char(hour at time zone 'UTC', 'YYYY-MM-DD') as t, service, model, status_class, team_id, ${BASE}, ${ADDED}
      from usage_hourly group by 1, 2, 3, 4, 5 order by 1, 2, 3, 4, 5`,
    usage_daily_users: `select to_char(day, 'YYYY-MM-DD') as t, user_id, gateway_key_id, team_id, ${BASE} from usage_daily group by 1, 2, 3, 4 order by 1, 2, 3, 4`,
  };
  const actual = {
    usage_hourly_slim: `select to_char(hour at time zone 'UTC', 'YYYY-MM-DD HH24') as t, service, model, status_class, team_id, ${BASE}, ${ADDED}
      from usage_hourly_slim group by 1, 2, 3, 4, 5 order by 1, 2, 3, 4, 5`,
    usage_daily_slim: `select to_char(day, 'YYYY-MM-DD') as t, service, model, status_class, team_id, ${BASE}, ${ADDED}
      from usage_daily_slim group by 1, 2, 3, 4, 5 order by 1, 2, 3, 4, 5`,
    usage_daily_users: `select to_char(day, 'YYYY-MM-DD') as t, user_id, gateway_key_id, team_id, ${BASE} from usage_daily_users group by 1, 2, 3, 4 order by 1, 2, 3, 4`,
  };
  const q = async (sql: string) => ((await gw.deps.db.raw(sql)).rows as Record<string, unknown>[]).map((r) => JSON.stringify(r));
  const snapshot = async () => ({
    usage_hourly_slim: await q(actual.usage_hourly_slim),
    usage_daily_slim: await q(actual.usage_daily_slim),
    usage_daily_users: await q(actual.usage_daily_users),
  });

  beforeAll(async () => {
    gw = await startTestGateway();
    // two batches, the second overlapping the first's rows: the overlap must count once
    await writeUsageBatch(gw.deps.db, rows.slice(0, 250));
    await writeUsageBatch(gw.deps.db, rows.slice(200));
  }, 120_000);
  afterAll(() => gw.close());

  it('equal an aggregate of the wide rollups, each event once', async () => {
    for (const table of ['usage_hourly_slim', 'usage_daily_slim', 'usage_daily_users'] as const) {
      const want = await q(expected[table]);
      expect([table, want.length > 1]).toEqual([table, true]);
      expect([table, await q(actual[table])]).toEqual([table, want]);
    }
    const [{ n }] = (await gw.deps.db.raw('select sum(requests)::int as n from usage_daily_slim')).rows;
    expect(n).toBe(rows.length);
  });

  it('a replayed batch adds nothing to them', async () => {
    const before = await snapshot();
    expect(await writeUsageBatch(gw.deps.db, rows.slice(100, 300))).toBe(0);
    expect(await snapshot()).toEqual(before);
  });

  it('the migration backfills them from the wide rollups; a day only usage_daily holds whole keeps its totals, status unknown', async () => {
    const before = await snapshot();
    // a day older than the hourly rollup (only usage_daily has it)
    await gw.deps.db('usage_daily').insert({ day: '2020-01-02', user_id: USERS[0], service: 'openai', model: 'gpt-4o', requests: 7, errors: 2, cost_micros: 1234 });
    await m014.down(gw.deps.db);
    await m014.up(gw.deps.db);
    const after = await snapshot();
    expect(after.usage_hourly_slim).toEqual(before.usage_hourly_slim);
    expect(after.usage_daily_slim.filter((r) => !r.includes('2020-01-02'))).toEqual(before.usage_daily_slim);
    const old = (await gw.deps.db('usage_daily_slim').where('day', '2020-01-02')) as Record<string, unknown>[];
    expect(old.map((r) => [r.service, r.model, r.status_class, Number(r.requests), Number(r.errors), Number(r.cost_micros)])).toEqual([['openai', 'gpt-4o', '', 7, 2, 1234]]);
    expect(after.usage_daily_users.length).toBe(before.usage_daily_users.length + 1);
  });

  it('analytics answer from the slim rollups what the events say', async () => {
    const admin = (await gw.user('admin')).token;
    const byStatus = await gw.request('/analytics/usage?from=2025-06-30&to=2025-07-01&groupBy=status', { token: admin });
    expect(byStatus.status).toBe(200);
    const counts: Record<string, number> = {};
    for (const r of rows) {
      const cls = r.status === 429 ? '429' : `${Math.floor(r.status / 100)}xx`;
      counts[cls] = (counts[cls] ?? 0) + 1;
    }
    expect(Object.fromEntries(byStatus.body.rows.map((r: { group: string; requests: number }) => [r.group, r.requests]))).toEqual(counts);
    const overview = await gw.request('/analytics/overview?from=2025-06-30&to=2025-07-01', { token: admin });
    expect(overview.body.totals.requests).toBe(rows.length);
    const userSum = overview.body.top.users.reduce((a: number, u: { requests: number }) => a + u.requests, 0);
    expect(userSum).toBe(rows.length); // 3 users + none, all within the top 5
  });

  it('reads the slimmest rollup that has what the query filters and groups by', () => {
    const days = { from: '2025-06-01', to: '2025-06-30' };
    const hours = { ...days, hours: { start: '2025-06-29T00:00:00.000Z', end: '2025-06-30T00:00:00.000Z' } };
    expect(pickRollup(days, [])).toBe('usage_daily_slim');
    expect(pickRollup(days, ['status'])).toBe('usage_daily_slim');
    expect(pickRollup({ ...days, service: 'openai' }, ['model'])).toBe('usage_daily_slim');
    expect(pickRollup(days, ['user'])).toBe('usage_daily_users');
    expect(pickRollup({ ...days, userId: USERS[0]! }, ['key'])).toBe('usage_daily_users');
    expect(pickRollup({ ...days, userId: USERS[0]! }, ['model'])).toBe('usage_daily');
    expect(pickRollup(days, ['providerKey'])).toBe('usage_daily');
    expect(pickRollup({ ...days, status: '5xx' }, ['user'])).toBe('usage_hourly');
    expect(pickRollup(hours, ['status'])).toBe('usage_hourly_slim');
    expect(pickRollup(days, [], { hour: true })).toBe('usage_hourly_slim');
    expect(pickRollup(hours, ['user'])).toBe('usage_hourly');
    // teams are in every rollup
    expect(pickRollup({ ...days, teamId: TEAMS[0]! }, ['model'])).toBe('usage_daily_slim');
    expect(pickRollup({ ...days, teamId: TEAMS[0]! }, ['user'])).toBe('usage_daily_users');
    // a filter field the table chooser does not know reads the wide rollups
    expect(pickRollup({ ...days, walletEntryId: 'x' } as never, [])).toBe('usage_daily');
  });
});
