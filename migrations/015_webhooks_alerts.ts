import type { Knex } from 'knex';

/**
 * Webhooks and alerts (issue 17). `webhooks`: where alerts go (org-wide, or one team's), each with a signing secret
 * sealed like a wallet secret (it must be recoverable to sign). `alerts`: one row per alert that fired; the unique
 * (kind, scope, scope_id, period, threshold) makes it fire once across every node (the inserter delivers).
 * `webhook_deliveries`: one row per (webhook, event), claimed by one node at a time (a lease); the pending retries
 * live here and survive a restart. `webhook_delivery_attempts`: the delivery log, one row per HTTP attempt.
 */
export async function up(db: Knex): Promise<void> {
  await db.schema.createTable('webhooks', (t) => {
    t.uuid('id').primary();
    t.uuid('team_id').references('teams.id').onDelete('CASCADE');
    t.text('description');
    t.text('url').notNullable();
    t.jsonb('events').notNullable();
    t.boolean('enabled').notNullable().defaultTo(true);
    t.boolean('allow_private').notNullable().defaultTo(false);
    t.binary('secret_ciphertext').notNullable();
    t.binary('secret_nonce').notNullable();
    t.integer('secret_key_version').notNullable();
    t.uuid('created_by');
    t.timestamp('created_at', { useTz: true }).notNullable();
    t.timestamp('updated_at', { useTz: true }).notNullable();
    t.index(['team_id']);
  });
  await db.schema.createTable('alerts', (t) => {
    t.uuid('id').primary();
    t.text('kind').notNullable();
    t.text('scope').notNullable();
    t.text('scope_id').notNullable();
    t.text('period').notNullable();
    t.integer('threshold').notNullable();
    t.uuid('team_id');
    t.jsonb('data').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable();
    t.unique(['kind', 'scope', 'scope_id', 'period', 'threshold'], { indexName: 'alerts_once_per_period' });
  });
  await db.schema.createTable('webhook_deliveries', (t) => {
    t.bigIncrements('id').primary();
    t.uuid('webhook_id').notNullable().references('webhooks.id').onDelete('CASCADE');
    t.uuid('event_id').notNullable();
    t.text('event_type').notNullable();
    t.text('body').notNullable();
    t.text('status').notNullable();
    t.integer('attempts').notNullable().defaultTo(0);
    t.timestamp('next_attempt_at', { useTz: true });
    t.timestamp('claimed_until', { useTz: true });
    t.integer('last_status_code');
    t.text('last_error');
    t.timestamp('created_at', { useTz: true }).notNullable();
    t.timestamp('completed_at', { useTz: true });
    t.unique(['webhook_id', 'event_id']);
    t.index(['status', 'next_attempt_at']);
    t.check(`status in ('pending','delivering','succeeded','failed')`, [], 'webhook_deliveries_status_check');
  });
  await db.schema.createTable('webhook_delivery_attempts', (t) => {
    t.bigIncrements('id').primary();
    t.bigInteger('delivery_id').notNullable().references('webhook_deliveries.id').onDelete('CASCADE');
    t.uuid('webhook_id').notNullable();
    t.uuid('event_id').notNullable();
    t.integer('attempt').notNullable();
    t.integer('status_code');
    t.text('error');
    t.integer('duration_ms').notNullable();
    t.timestamp('next_retry_at', { useTz: true });
    t.timestamp('created_at', { useTz: true }).notNullable();
    t.index(['webhook_id', 'id']);
    t.index(['delivery_id']);
  });
}

export async function down(db: Knex): Promise<void> {
  await db.schema.dropTable('webhook_delivery_attempts');
  await db.schema.dropTable('webhook_deliveries');
  await db.schema.dropTable('alerts');
  await db.schema.dropTable('webhooks');
}
