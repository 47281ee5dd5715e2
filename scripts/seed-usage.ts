/**
 * Seeds realistic usage on PostgreSQL for measuring the console's analytics:
 *   DATABASE_URL=postgres://… npm run seed:usage -- --users 100 --events 1000000 --days 90
 * Creates developers (password from SEED_PASSWORD, default "seed-password-123"), two gateway keys each, a few
 * wallet entries (disabled: their secrets are not real), then the events in one INSERT … SELECT over
 * generate_series, and the daily, hourly and slim rollups from them in SQL. Heavy users are more likely than light
 * ones, working hours busier than nights, most calls 2xx with some 429s and 5xx.
 */
import crypto from 'node:crypto';
import { Command } from 'commander';
import { createDatabase, migrateLatest } from '../src/store/db';
import { runBuiltinSeeds } from '../seeds/builtin';
import { hashPassword } from '../src/auth/passwords';
import { pgArrayLiteral } from '../src/usage/pg-array';
import { NO_ID } from '../src/usage/event';

const MODELS: [service: string, model: string, inPerTok: number, outPerTok: number][] = [
  ['openai', 'gpt-4o-mini', 0.15, 0.6],
  ['openai', 'gpt-4o', 2.5, 10],
  ['openai', 'text-embedding-3-small', 0.02, 0],
  ['anthropic', 'claude-haiku-4-5', 1, 5],
  ['anthropic', 'claude-sonnet-4-5', 3, 15],
  ['stripe', '', 0, 0],
  ['openweather', '', 0, 0],
];
const ENTRIES: [service: string, tier: 'free' | 'paid'][] = [
  ['openai', 'free'],
  ['openai', 'paid'],
  ['anthropic', 'free'],
  ['anthropic', 'paid'],
  ['stripe', 'paid'],
  ['openweather', 'free'],
];

async function main() {
  const opts = new Command()
    .option('--users <n>', 'developers', '100')
    .option('--events <n>', 'usage events', '1000000')
    .option('--days <n>', 'spread over the last N days', '90')
    .parse()
    .opts<{ users: string; events: string; days: string }>();
  const users = Number(opts.users);
  const events = Number(opts.events);
  const days = Number(opts.days);
  if (![users, events, days].every((n) => Number.isInteger(n) && n > 0)) throw new Error('--users, --events and --days must be positive integers');
  if (!process.env.DATABASE_URL) throw new Error('DATABASE_URL must point at PostgreSQL (the seed is for measuring it)');
  const db = await createDatabase({ url: process.env.DATABASE_URL, poolMax: 2 });
  const started = Date.now();
  const step = (what: string) => console.log(`${((Date.now() - started) / 1000).toFixed(1)}s ${what}`);
  try {
    await migrateLatest(db);
    await runBuiltinSeeds(db);
    const run = crypto.randomBytes(3).toString('hex');
    const passwordHash = await hashPassword(process.env.SEED_PASSWORD ?? 'seed-password-123');

    const userIds = Array.from({ length: users }, () => crypto.randomUUID());
    await db.batchInsert(
      'users',
      userIds.map((id, i) => ({ id, email: `seed-${run}-${i + 1}@example.test`, password_hash: passwordHash, role: 'developer', plan_id: 'free' })),
      500,
    );
    const keyIds = userIds.flatMap(() => [crypto.randomUUID(), crypto.randomUUID()]);
    await db.batchInsert(
      'gateway_keys',
      keyIds.map((id, i) => ({
        id,
        user_id: userIds[Math.floor(i / 2)],
        name: i % 2 ? 'ci' : 'laptop',
        environment: 'live',
        key_hash: crypto.randomBytes(32).toString('hex'),
        key_hint: 'kw_live_…seed',
        scopes: JSON.stringify(['chat', 'embeddings', 'proxy']),
      })),
      500,
    );
    const entryIds = ENTRIES.map(() => crypto.randomUUID());
    await db('wallet_entries').insert(
      ENTRIES.map(([service, tier], i) => ({
        id: entryIds[i],
        service,
        label: `seed ${service} ${tier}`,
        tier,
        priority: tier === 'free' ? 10 : 20,
        status: 'disabled',
        status_reason: 'seeded for measurements; not a real secret',
        ciphertext: crypto.randomBytes(48),
        nonce: crypto.randomBytes(24),
        key_version: 1,
        fingerprint: crypto.randomBytes(32).toString('hex'),
        secret_hint: '…seed',
        metadata: JSON.stringify({ seed: run }),
      })),
    );
    step(`${users} users, ${keyIds.length} keys, ${entryIds.length} wallet entries (run ${run})`);

    // One row per event. Per event: a user skewed towards heavy users (random()^2), one of their two keys, a model,
    // the wallet entry of that model's service (free or paid), a time in the last N days weighted to working hours.
    const entryFor = (service: string, tier: 'free' | 'paid') =>
      entryIds[ENTRIES.findIndex(([s, t]) => s === service && t === tier)] ?? entryIds[ENTRIES.findIndex(([s]) => s === service)];
    await db.raw(
      `insert into usage_events (event_id, ts, request_id, gateway_key_id, user_id, wallet_entry_id, surface, service, model, status,
         error_code, latency_ms, upstream_latency_ms, prompt_tokens, completion_tokens, cost_micros, estimated, stream, attempts)
       select gen_random_uuid(), ts, 'seed-${run}-' || n, k.id, u.id,
         case when status = 401 then null else (case when random() < 0.5 then m.free_entry else m.paid_entry end) end,
         case when m.service in ('stripe', 'openweather') then 'proxy' when m.model like 'text-embedding%' then 'embeddings' else 'chat' end,
         m.service, nullif(m.model, ''), status,
         case when status >= 400 then 'seeded_error' end,
         latency + added, case when status in (401, 429) then null else latency end,
         pt, ct, case when status = 200 then round(pt * m.in_price + ct * m.out_price + m.per_call)::bigint else 0 end,
         false, m.service in ('openai', 'anthropic') and random() < 0.3, 1
       from (
         select n,
           now() - (floor(random() * ?)::int * interval '1 day')
             - (case when random() < 0.7 then 8 + floor(random() * 10) else floor(random() * 24) end) * interval '1 hour'
             - floor(random() * 3600) * interval '1 second' as ts,
           floor(power(random(), 2) * ?)::int as ui, floor(random() * 2)::int as ki,
           floor(power(random(), 1.5) * ?)::int + 1 as mi,
           (array[200,200,200,200,200,200,200,200,200,200,200,200,200,200,200,200,200,200,200,200,200,200,200,200,200,200,200,200,200,200,
                  200,200,200,200,200,200,200,200,200,200,200,200,200,200,200,200,200,200,429,500,502,400,401,404])[1 + floor(random() * 54)::int] as status,
           (50 + random() * random() * 4000)::int as latency, (1 + random() * 6)::int as added,
           (20 + random() * 2000)::int as pt, (random() * 800)::int as ct
         from generate_series(1, ?) as n
       ) e
       join unnest(?::uuid[]) with ordinality as u(id, ord) on u.ord = e.ui + 1
       join unnest(?::uuid[]) with ordinality as k(id, ord) on k.ord = e.ui * 2 + e.ki + 1
       join (select * from unnest(?::text[], ?::text[], ?::numeric[], ?::numeric[], ?::int[], ?::uuid[], ?::uuid[])
             with ordinality as m(service, model, in_price, out_price, per_call, free_entry, paid_entry, ord)) m on m.ord = e.mi`,
      [
        days,
        users,
        MODELS.length,
        events,
        pgArrayLiteral(userIds),
        pgArrayLiteral(keyIds),
        pgArrayLiteral(MODELS.map((m) => m[0])),
        pgArrayLiteral(MODELS.map((m) => m[1])),
        pgArrayLiteral(MODELS.map((m) => m[2])),
        pgArrayLiteral(MODELS.map((m) => m[3])),
        pgArrayLiteral(MODELS.map(([s]) => (s === 'stripe' ? 2000 : s === 'openweather' ? 100 : 0))),
        pgArrayLiteral(MODELS.map(([s]) => entryFor(s, 'free'))),
        pgArrayLiteral(MODELS.map(([s]) => entryFor(s, 'paid'))),
      ],
    );
    step(`${events} usage events`);

    // The rollups the usage writer would have kept, built the same way from these events (organisation level: team_id
    // takes its "none" default).
    const seeded = `from usage_events where request_id like 'seed-${run}-%'`;
    const dims = `coalesce(gateway_key_id, '${NO_ID}'), coalesce(user_id, '${NO_ID}'), coalesce(wallet_entry_id, '${NO_ID}'),
      coalesce(service, ''), coalesce(model, '')`;
    const sums = `count(*), count(*) filter (where status >= 400), sum(prompt_tokens), sum(completion_tokens), sum(cost_micros), sum(latency_ms)`;
    await db.raw(`insert into usage_daily (day, gateway_key_id, user_id, wallet_entry_id, service, model,
        requests, errors, prompt_tokens, completion_tokens, cost_micros, latency_ms_sum)
      select (ts at time zone 'UTC')::date, ${dims}, ${sums} ${seeded} group by 1, 2, 3, 4, 5, 6
      on conflict (day, gateway_key_id, user_id, wallet_entry_id, service, model, team_id) do update set
        requests = usage_daily.requests + excluded.requests, errors = usage_daily.errors + excluded.errors,
        prompt_tokens = usage_daily.prompt_tokens + excluded.prompt_tokens,
        completion_tokens = usage_daily.completion_tokens + excluded.completion_tokens,
        cost_micros = usage_daily.cost_micros + excluded.cost_micros, latency_ms_sum = usage_daily.latency_ms_sum + excluded.latency_ms_sum`);
    step('usage_daily');
    await db.raw(`insert into usage_hourly (hour, gateway_key_id, user_id, wallet_entry_id, service, model, status_class,
        requests, errors, prompt_tokens, completion_tokens, cost_micros, latency_ms_sum, upstream_requests, added_latency_ms_sum)
      select date_trunc('hour', ts at time zone 'UTC') at time zone 'UTC', ${dims},
        case when status = 429 then '429' else (status / 100)::text || 'xx' end, ${sums},
        count(upstream_latency_ms), coalesce(sum(greatest(latency_ms - upstream_latency_ms, 0)), 0)
      ${seeded} group by 1, 2, 3, 4, 5, 6, 7
      on conflict (hour, gateway_key_id, user_id, wallet_entry_id, service, model, status_class, team_id) do update set
        requests = usage_hourly.requests + excluded.requests, errors = usage_hourly.errors + excluded.errors,
        prompt_tokens = usage_hourly.prompt_tokens + excluded.prompt_tokens,
        completion_tokens = usage_hourly.completion_tokens + excluded.completion_tokens,
        cost_micros = usage_hourly.cost_micros + excluded.cost_micros, latency_ms_sum = usage_hourly.latency_ms_sum + excluded.latency_ms_sum,
        upstream_requests = usage_hourly.upstream_requests + excluded.upstream_requests,
        added_latency_ms_sum = usage_hourly.added_latency_ms_sum + excluded.added_latency_ms_sum`);
    step('usage_hourly');
    // the slim rollups (migration 014), from the same events
    const cls = `case when status = 429 then '429' else (status / 100)::text || 'xx' end`;
    const added = `count(upstream_latency_ms), coalesce(sum(greatest(latency_ms - upstream_latency_ms, 0)), 0)`;
    const addAll = (table: string, cols: string[]) =>
      cols.map((c) => `${c} = ${table}.${c} + excluded.${c}`).join(', ');
    const base = ['requests', 'errors', 'prompt_tokens', 'completion_tokens', 'cost_micros', 'latency_ms_sum'];
    const withAdded = [...base, 'upstream_requests', 'added_latency_ms_sum'];
    const team = `coalesce(team_id, '${NO_ID}')`;
    await db.raw(`insert into usage_hourly_slim (hour, service, model, status_class, team_id, ${withAdded.join(', ')})
      select date_trunc('hour', ts at time zone 'UTC') at time zone 'UTC', coalesce(service, ''), coalesce(model, ''), ${cls}, ${team}, ${sums}, ${added}
      ${seeded} group by 1, 2, 3, 4, 5
      on conflict (hour, service, model, status_class, team_id) do update set ${addAll('usage_hourly_slim', withAdded)}`);
    await db.raw(`insert into usage_daily_slim (day, service, model, status_class, team_id, ${withAdded.join(', ')})
      select (ts at time zone 'UTC')::date, coalesce(service, ''), coalesce(model, ''), ${cls}, ${team}, ${sums}, ${added}
      ${seeded} group by 1, 2, 3, 4, 5
      on conflict (day, service, model, status_class, team_id) do update set ${addAll('usage_daily_slim', withAdded)}`);
    await db.raw(`insert into usage_daily_users (day, user_id, gateway_key_id, team_id, ${base.join(', ')})
      select (ts at time zone 'UTC')::date, coalesce(user_id, '${NO_ID}'), coalesce(gateway_key_id, '${NO_ID}'), ${team}, ${sums}
      ${seeded} group by 1, 2, 3, 4
      on conflict (day, user_id, gateway_key_id, team_id) do update set ${addAll('usage_daily_users', base)}`);
    step('slim rollups');
    await db.raw('analyze usage_events; analyze usage_daily; analyze usage_hourly; analyze usage_hourly_slim; analyze usage_daily_slim; analyze usage_daily_users');
    const [{ daily }] = (await db('usage_daily').count({ daily: '*' })) as { daily: number }[];
    const [{ hourly }] = (await db('usage_hourly').count({ hourly: '*' })) as { hourly: number }[];
    step(`done: usage_daily ${daily} rows, usage_hourly ${hourly} rows; log in as seed-${run}-1@example.test`);
  } finally {
    await db.destroy();
  }
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
