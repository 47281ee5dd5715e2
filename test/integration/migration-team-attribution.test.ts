import crypto from 'node:crypto';
import { createSharedBackend, SharedBackend, TEST_BACKEND } from '../helpers/backend';
import { createDatabase, Db } from '../../src/store/db';
import { writeUsageBatch } from '../../src/usage/batch-write';
import { toEventRow, UsageEvent } from '../../src/usage/event';

const NONE = '00000000-0000-0000-0000-000000000000';

/**
 * Migration 013 on a database that already holds usage: existing events become organisation level (team_id NULL),
 * existing rollup rows get the "none" team, and the writer keeps adding to those same rows afterwards (the new primary
 * keys). Rolled back, rows that differ only by team fold into one again.
 */
describe(`migration 013: team attribution on existing data (${TEST_BACKEND})`, () => {
  let backend: SharedBackend;
  let db: Db;
  const keyId = crypto.randomUUID();
  const userId = crypto.randomUUID();
  const teamId = crypto.randomUUID();

  const event = (teamOf?: string): UsageEvent => ({
    id: crypto.randomUUID(), ts: Date.parse('2025-04-01T10:15:00Z'), requestId: crypto.randomUUID(), gatewayKeyId: keyId, userId,
    walletEntryId: null, surface: 'chat', service: 'openai', model: 'gpt-4o', status: 200, errorCode: null, latencyMs: 10,
    upstreamLatencyMs: 8, promptTokens: 3, completionTokens: 2, costMicros: 100, estimated: false, stream: false, attempts: 1,
    ...(teamOf ? { teamId: teamOf } : {}),
  });
  const daily = () => db('usage_daily').where({ gateway_key_id: keyId }).orderBy('requests').select('team_id', 'requests');

  beforeAll(async () => {
    backend = await createSharedBackend();
    db = await createDatabase({ url: backend.databaseUrl });
    // every migration before this one
    for (;;) {
      const [done] = (await db.migrate.list()) as [{ name: string }[] | string[], unknown];
      const names = done.map((d) => (typeof d === 'string' ? d : d.name));
      if (names.some((n) => n > '012')) throw new Error('ran past the migrations before 013');
      if (names.includes('011_price_rates')) break;
      await db.migrate.up();
    }
  }, 120_000);
  afterAll(async () => {
    await db.destroy();
    await backend.drop();
  });

  it('leaves existing usage at organisation level, keeps adding to the same rollup rows, and folds back on rollback', async () => {
    // what the writer of the build before stored for one event
    const { team_id: _none, ...old } = toEventRow(event());
    await db('usage_events').insert(old);
    const dims = { gateway_key_id: keyId, user_id: userId, service: 'openai', model: 'gpt-4o', requests: 1, prompt_tokens: 3, completion_tokens: 2, cost_micros: 100, latency_ms_sum: 10 };
    await db('usage_daily').insert({ day: '2025-04-01', ...dims });
    await db('usage_hourly').insert({ hour: '2025-04-01T10:00:00Z', status_class: '2xx', upstream_requests: 1, added_latency_ms_sum: 2, ...dims });
    await db.migrate.latest();
    expect(await db('usage_events').where({ gateway_key_id: keyId }).pluck('team_id')).toEqual([null]);
    expect(await daily()).toEqual([{ team_id: NONE, requests: 1 }]);
    expect(await db('usage_hourly').where({ gateway_key_id: keyId }).pluck('team_id')).toEqual([NONE]);
    expect(await db('teams').columnInfo()).toHaveProperty('own_pool_only');
    expect(await db('wallet_entries').columnInfo()).toHaveProperty('team_id');

    // an organisation-level event adds to the old row; a team event gets a row of its own
    await db('teams').insert({ id: teamId, name: 'T', slug: `t-${teamId.slice(0, 8)}` });
    expect(await writeUsageBatch(db, [toEventRow(event()), toEventRow(event(teamId))])).toBe(2);
    expect(await daily()).toEqual([{ team_id: teamId, requests: 1 }, { team_id: NONE, requests: 2 }]);
    expect((await db('usage_hourly').where({ gateway_key_id: keyId }).select('team_id', 'requests')).length).toBe(2);

    // back to before 013 (the migrations after it first)
    for (;;) {
      const [done] = (await db.migrate.list()) as [{ name: string }[] | string[], unknown];
      if (!done.map((d) => (typeof d === 'string' ? d : d.name)).some((n) => n >= '013')) break;
      await db.migrate.down();
    }
    expect(await db('usage_daily').columnInfo()).not.toHaveProperty('team_id');
    expect(await db('usage_daily').where({ gateway_key_id: keyId }).pluck('requests')).toEqual([3]);
    expect(Number((await db('usage_hourly').where({ gateway_key_id: keyId }).sum({ n: 'requests' }))[0].n)).toBe(3);
    await db.migrate.latest();
    expect(await daily()).toEqual([{ team_id: NONE, requests: 3 }]);
  });
});
