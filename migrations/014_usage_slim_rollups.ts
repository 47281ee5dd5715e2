import type { Knex } from 'knex';

const NONE = '00000000-0000-0000-0000-000000000000';

/**
 * Slim rollups for the console's all-users analytics (issue 15). usage_daily and usage_hourly carry key × user ×
 * wallet entry × service × model: a 90-day chart over every user scans a few hundred thousand of their rows. These
 * drop the dimensions such reads do not ask for, so the same answer comes from a few thousand rows:
 *  - usage_hourly_slim: hour × service × model × status class × team (no user, key or wallet entry)
 *  - usage_daily_slim:  day × service × model × status class × team (a by-status report no longer needs hours)
 *  - usage_daily_users: day × user × key × team (top users and keys, series by user or key)
 * The team (migration 013) is in each: a key belongs to one team, so it multiplies few rows, and a team's reports
 * read the slim rollups too.
 * The usage writer keeps them in the batch's transaction from exactly the events it inserted (the event_id
 * design: a replayed event inserts nothing and adds nothing), like the wide rollups.
 *
 * Backfilled here from the existing rollups: the hourly slim and usage_daily_users are exact aggregates of
 * usage_hourly and usage_daily. usage_daily_slim takes a day's status classes from usage_hourly where usage_hourly
 * holds that whole day (its requests equal usage_daily's); days only usage_daily holds in full (older than the raw
 * events 004 rolled up) go in with status class '' (unknown), their totals intact.
 */
export async function up(db: Knex): Promise<void> {
  const sums = (t: Knex.CreateTableBuilder, added: boolean) => {
    for (const c of ['requests', 'errors', 'prompt_tokens', 'completion_tokens', 'cost_micros', 'latency_ms_sum']) {
      t.bigInteger(c).notNullable().defaultTo(0);
    }
    if (added) {
      t.bigInteger('upstream_requests').notNullable().defaultTo(0);
      t.bigInteger('added_latency_ms_sum').notNullable().defaultTo(0);
    }
  };
  await db.schema.createTable('usage_hourly_slim', (t) => {
    t.timestamp('hour', { useTz: true }).notNullable();
    t.text('service').notNullable().defaultTo('');
    t.text('model').notNullable().defaultTo('');
    t.text('status_class').notNullable();
    t.uuid('team_id').notNullable().defaultTo(NONE);
    sums(t, true);
    t.primary(['hour', 'service', 'model', 'status_class', 'team_id']);
  });
  await db.schema.createTable('usage_daily_slim', (t) => {
    t.date('day').notNullable();
    t.text('service').notNullable().defaultTo('');
    t.text('model').notNullable().defaultTo('');
    t.text('status_class').notNullable();
    t.uuid('team_id').notNullable().defaultTo(NONE);
    sums(t, true);
    t.primary(['day', 'service', 'model', 'status_class', 'team_id']);
  });
  await db.schema.createTable('usage_daily_users', (t) => {
    t.date('day').notNullable();
    t.uuid('user_id').notNullable().defaultTo(NONE);
    t.uuid('gateway_key_id').notNullable().defaultTo(NONE);
    t.uuid('team_id').notNullable().defaultTo(NONE);
    sums(t, false);
    t.primary(['day', 'user_id', 'gateway_key_id', 'team_id']);
    // one user's keys over a long range (a developer's own series by key) without reading everyone's days
    t.index(['user_id', 'day']);
  });

  const base = 'sum(requests), sum(errors), sum(prompt_tokens), sum(completion_tokens), sum(cost_micros), sum(latency_ms_sum)';
  const cols = 'requests, errors, prompt_tokens, completion_tokens, cost_micros, latency_ms_sum';
  await db.raw(`insert into usage_hourly_slim (hour, service, model, status_class, team_id, ${cols}, upstream_requests, added_latency_ms_sum)
    select hour, service, model, status_class, team_id, ${base}, sum(upstream_requests), sum(added_latency_ms_sum)
    from usage_hourly group by 1, 2, 3, 4, 5`);
  await db.raw(`insert into usage_daily_users (day, user_id, gateway_key_id, team_id, ${cols})
    select day, user_id, gateway_key_id, team_id, ${base} from usage_daily group by 1, 2, 3, 4`);
  await db.raw(`
    with d as (select day, sum(requests) as n from usage_daily group by 1),
    h as (select (hour at time zone 'UTC')::date as day, sum(requests) as n from usage_hourly group by 1),
    whole as (select d.day from d join h on h.day = d.day and h.n = d.n)
    insert into usage_daily_slim (day, service, model, status_class, team_id, ${cols}, upstream_requests, added_latency_ms_sum)
    select (hour at time zone 'UTC')::date, service, model, status_class, team_id, ${base}, sum(upstream_requests), sum(added_latency_ms_sum)
      from usage_hourly where (hour at time zone 'UTC')::date in (select day from whole) group by 1, 2, 3, 4, 5
    union all
    select day, service, model, '', team_id, ${base}, 0, 0
      from usage_daily where day not in (select day from whole) group by 1, 2, 3, 5`);
}

export async function down(db: Knex): Promise<void> {
  await db.schema.dropTable('usage_daily_users');
  await db.schema.dropTable('usage_daily_slim');
  await db.schema.dropTable('usage_hourly_slim');
}
