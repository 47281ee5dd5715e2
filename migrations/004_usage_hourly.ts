import type { Knex } from 'knex';

const NONE = '00000000-0000-0000-0000-000000000000';

/**
 * Hourly usage rollups for the console's time series (24 h at hourly resolution), kept by the usage writer in
 * the same transaction as usage_daily. Besides usage_daily's dimensions it has the status class (1xx … 5xx, with
 * 429 apart from 4xx) and the gateway-added latency: latency_ms − upstream_latency_ms of the events that reached
 * an upstream (`upstream_requests` of them), so an average added latency can be worked out.
 * Existing raw events (kept USAGE_RETENTION_DAYS) are rolled up into it once, here.
 */
export async function up(db: Knex): Promise<void> {
  await db.schema.createTable('usage_hourly', (t) => {
    t.timestamp('hour', { useTz: true }).notNullable();
    t.uuid('gateway_key_id').notNullable().defaultTo(NONE);
    t.uuid('user_id').notNullable().defaultTo(NONE);
    t.uuid('wallet_entry_id').notNullable().defaultTo(NONE);
    t.text('service').notNullable().defaultTo('');
    t.text('model').notNullable().defaultTo('');
    t.text('status_class').notNullable();
    t.bigInteger('requests').notNullable().defaultTo(0);
    t.bigInteger('errors').notNullable().defaultTo(0);
    t.bigInteger('prompt_tokens').notNullable().defaultTo(0);
    t.bigInteger('completion_tokens').notNullable().defaultTo(0);
    t.bigInteger('cost_micros').notNullable().defaultTo(0);
    t.bigInteger('latency_ms_sum').notNullable().defaultTo(0);
    t.bigInteger('upstream_requests').notNullable().defaultTo(0);
    t.bigInteger('added_latency_ms_sum').notNullable().defaultTo(0);
    t.primary(['hour', 'gateway_key_id', 'user_id', 'wallet_entry_id', 'service', 'model', 'status_class']);
    // a developer's own series (the primary key serves the all-users reads)
    t.index(['user_id', 'hour']);
  });
  await db.raw(`
    insert into usage_hourly (hour, gateway_key_id, user_id, wallet_entry_id, service, model, status_class,
      requests, errors, prompt_tokens, completion_tokens, cost_micros, latency_ms_sum, upstream_requests, added_latency_ms_sum)
    select date_trunc('hour', ts at time zone 'UTC') at time zone 'UTC',
      coalesce(gateway_key_id, '${NONE}'), coalesce(user_id, '${NONE}'), coalesce(wallet_entry_id, '${NONE}'),
      coalesce(service, ''), coalesce(model, ''),
      case when status = 429 then '429' else (status / 100)::text || 'xx' end,
      count(*), count(*) filter (where status >= 400), sum(prompt_tokens), sum(completion_tokens), sum(cost_micros),
      sum(latency_ms), count(upstream_latency_ms), coalesce(sum(greatest(latency_ms - upstream_latency_ms, 0)), 0)
    from usage_events group by 1, 2, 3, 4, 5, 6, 7`);
}

export async function down(db: Knex): Promise<void> {
  await db.schema.dropTable('usage_hourly');
}
