import type { Knex } from 'knex';

const NONE = '00000000-0000-0000-0000-000000000000';

/**
 * Issue 17, attribution and team pools.
 * - usage_events.team_id: the key's team at call time (NULL: organisation level, and every row written before this).
 * - usage_daily / usage_hourly gain team_id as a dimension of their primary keys; like their other "none" ids it is
 *   the zero uuid there (a primary key column cannot be NULL), and analytics present it as null. Existing rows get it.
 * - wallet_entries.team_id: an entry in a team's own pool (NULL: the organisation's shared pool). A team with
 *   entries cannot be deleted (restrict): setting them to NULL would hand a team's keys to everyone.
 * - teams.own_pool_only: the team's keys route to its own entries only, never to the shared pool.
 */
export async function up(db: Knex): Promise<void> {
  await db.schema.alterTable('usage_events', (t) => {
    t.uuid('team_id');
  });
  for (const [table, time] of [['usage_daily', 'day'], ['usage_hourly', 'hour']] as const) {
    const keys = table === 'usage_daily'
      ? ['day', 'gateway_key_id', 'user_id', 'wallet_entry_id', 'service', 'model', 'team_id']
      : ['hour', 'gateway_key_id', 'user_id', 'wallet_entry_id', 'service', 'model', 'status_class', 'team_id'];
    await db.schema.alterTable(table, (t) => {
      t.uuid('team_id').notNullable().defaultTo(NONE);
    });
    await db.raw(`alter table ${table} drop constraint ${table}_pkey`);
    await db.raw(`alter table ${table} add constraint ${table}_pkey primary key (${keys.join(', ')})`);
    // a team's own reports (/teams/:id/usage) read by team and time
    await db.schema.alterTable(table, (t) => {
      t.index(['team_id', time]);
    });
  }
  await db.schema.alterTable('wallet_entries', (t) => {
    t.uuid('team_id').references('teams.id').onDelete('RESTRICT');
    t.index(['team_id']);
  });
  await db.schema.alterTable('teams', (t) => {
    t.boolean('own_pool_only').notNullable().defaultTo(false);
  });
}

export async function down(db: Knex): Promise<void> {
  await db.schema.alterTable('teams', (t) => {
    t.dropColumn('own_pool_only');
  });
  await db.schema.alterTable('wallet_entries', (t) => {
    t.dropIndex(['team_id']);
    t.dropForeign(['team_id']);
    t.dropColumn('team_id');
  });
  for (const [table, time] of [['usage_daily', 'day'], ['usage_hourly', 'hour']] as const) {
    const keys = table === 'usage_daily'
      ? ['day', 'gateway_key_id', 'user_id', 'wallet_entry_id', 'service', 'model']
      : ['hour', 'gateway_key_id', 'user_id', 'wallet_entry_id', 'service', 'model', 'status_class'];
    const sums = ['requests', 'errors', 'prompt_tokens', 'completion_tokens', 'cost_micros', 'latency_ms_sum',
      ...(table === 'usage_hourly' ? ['upstream_requests', 'added_latency_ms_sum'] : [])];
    // rows that differ only by team fold back into one
    await db.raw(`create temporary table ${table}_fold as
      select ${keys.join(', ')}, ${sums.map((c) => `sum(${c}) as ${c}`).join(', ')} from ${table} group by ${keys.join(', ')}`);
    await db.raw(`delete from ${table}`);
    await db.schema.alterTable(table, (t) => {
      t.dropIndex(['team_id', time]);
    });
    await db.raw(`alter table ${table} drop constraint ${table}_pkey`);
    await db.schema.alterTable(table, (t) => {
      t.dropColumn('team_id');
    });
    await db.raw(`alter table ${table} add constraint ${table}_pkey primary key (${keys.join(', ')})`);
    await db.raw(`insert into ${table} (${[...keys, ...sums].join(', ')}) select ${[...keys, ...sums].join(', ')} from ${table}_fold`);
    await db.raw(`drop table ${table}_fold`);
  }
  await db.schema.alterTable('usage_events', (t) => {
    t.dropColumn('team_id');
  });
}
