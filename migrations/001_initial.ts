import type { Knex } from 'knex';

/**
 * The whole data model. Money is stored as integer micro-USD (`*_micros`, 1 credit = 1 USD) so
 * counters stay exact in PostgreSQL and in Redis alike. Timestamps are timestamptz.
 */
export async function up(db: Knex): Promise<void> {
  const timestamps = (t: Knex.CreateTableBuilder) => {
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(db.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(db.fn.now());
  };

  await db.schema.createTable('plans', (t) => {
    t.text('id').primary();
    t.text('name').notNullable();
    t.integer('rpm');
    t.integer('rph');
    t.integer('rpd');
    t.integer('tpm');
    t.bigInteger('monthly_credits_micros'); // null = unlimited
    t.jsonb('services'); // null = every service
    t.boolean('builtin').notNullable().defaultTo(false);
    timestamps(t);
  });

  await db.schema.createTable('users', (t) => {
    t.uuid('id').primary();
    t.text('email').notNullable().unique();
    t.text('password_hash').notNullable();
    t.text('role').notNullable();
    t.text('plan_id').notNullable().references('plans.id');
    t.boolean('disabled').notNullable().defaultTo(false);
    t.timestamp('last_login_at', { useTz: true });
    timestamps(t);
    t.check(`role in ('admin','developer','analyst')`, [], 'users_role_check');
  });

  await db.schema.createTable('gateway_keys', (t) => {
    t.uuid('id').primary();
    t.uuid('user_id').notNullable().references('users.id');
    t.text('name').notNullable();
    t.text('environment').notNullable();
    t.text('key_hash').notNullable().unique();
    t.text('key_hint').notNullable(); // kw_live_…AbCd
    t.jsonb('scopes').notNullable();
    t.jsonb('services');
    t.jsonb('models');
    t.jsonb('allowed_ips');
    t.jsonb('allowed_referrers');
    t.timestamp('expires_at', { useTz: true });
    t.jsonb('limits');
    t.bigInteger('monthly_credits_micros');
    t.text('status').notNullable().defaultTo('active');
    t.timestamp('revoked_at', { useTz: true });
    t.text('revoked_reason');
    t.uuid('rotated_from');
    t.uuid('replaced_by');
    t.jsonb('metadata').notNullable().defaultTo('{}');
    t.timestamp('last_used_at', { useTz: true });
    timestamps(t);
    t.index(['user_id']);
    t.check(`environment in ('live','test')`, [], 'gateway_keys_env_check');
    t.check(`status in ('active','revoked')`, [], 'gateway_keys_status_check');
  });

  await db.schema.createTable('services', (t) => {
    t.text('slug').primary();
    t.text('name').notNullable();
    t.text('kind').notNullable();
    t.text('base_url').notNullable();
    t.jsonb('auth').notNullable();
    t.text('key_pattern');
    t.bigInteger('cost_per_call_micros').notNullable().defaultTo(0);
    t.integer('timeout_ms');
    t.boolean('allow_private').notNullable().defaultTo(false);
    t.boolean('builtin').notNullable().defaultTo(false);
    t.boolean('enabled').notNullable().defaultTo(true);
    t.jsonb('metadata').notNullable().defaultTo('{}');
    timestamps(t);
    t.check(`kind in ('llm','rest')`, [], 'services_kind_check');
  });

  await db.schema.createTable('wallet_entries', (t) => {
    t.uuid('id').primary();
    t.text('service').notNullable().references('services.slug').onUpdate('CASCADE');
    t.text('label').notNullable();
    t.text('tier').notNullable().defaultTo('paid');
    t.integer('priority').notNullable().defaultTo(100); // lower is tried first
    t.integer('weight').notNullable().defaultTo(1);
    t.text('environment').notNullable().defaultTo('live');
    t.text('status').notNullable().defaultTo('active');
    t.text('status_reason');
    t.binary('ciphertext').notNullable();
    t.binary('nonce').notNullable();
    t.integer('key_version').notNullable();
    t.text('fingerprint').notNullable().unique();
    t.text('secret_hint').notNullable(); // …abcd
    t.jsonb('quota');
    t.jsonb('metadata').notNullable().defaultTo('{}');
    t.uuid('created_by');
    t.timestamp('last_used_at', { useTz: true });
    t.timestamp('invalid_at', { useTz: true });
    timestamps(t);
    t.index(['service', 'environment', 'status']);
    t.check(`tier in ('free','paid')`, [], 'wallet_tier_check');
    t.check(`environment in ('live','test')`, [], 'wallet_env_check');
    t.check(`status in ('active','disabled','invalid')`, [], 'wallet_status_check');
  });

  await db.schema.createTable('model_aliases', (t) => {
    t.text('alias').primary();
    t.jsonb('targets').notNullable(); // [{service, model}] in fallback order
    t.text('description');
    t.boolean('builtin').notNullable().defaultTo(false);
    timestamps(t);
  });

  await db.schema.createTable('model_prices', (t) => {
    t.text('model').primary(); // exact model id, or a prefix ending in '*'
    t.text('service').notNullable();
    // USD per million tokens == micro-USD per token
    t.decimal('input_per_mtok', 14, 6).notNullable();
    t.decimal('output_per_mtok', 14, 6).notNullable();
    timestamps(t);
  });

  await db.schema.createTable('credit_grants', (t) => {
    t.bigIncrements('id').primary();
    t.uuid('user_id').notNullable().references('users.id');
    t.uuid('gateway_key_id');
    t.bigInteger('amount_micros').notNullable();
    t.text('period').notNullable(); // YYYY-MM the grant counts towards
    t.text('reason').notNullable();
    t.uuid('actor_id');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(db.fn.now());
    t.index(['user_id', 'period']);
  });

  await db.schema.createTable('usage_events', (t) => {
    t.bigIncrements('id').primary();
    t.timestamp('ts', { useTz: true }).notNullable();
    t.text('request_id').notNullable();
    t.uuid('gateway_key_id');
    t.uuid('user_id');
    t.uuid('wallet_entry_id');
    t.text('surface').notNullable(); // chat|messages|embeddings|models|proxy
    t.text('service');
    t.text('model');
    t.integer('status').notNullable();
    t.text('error_code');
    t.integer('latency_ms').notNullable();
    t.integer('upstream_latency_ms');
    t.integer('prompt_tokens').notNullable().defaultTo(0);
    t.integer('completion_tokens').notNullable().defaultTo(0);
    t.bigInteger('cost_micros').notNullable().defaultTo(0);
    t.boolean('estimated').notNullable().defaultTo(false);
    t.boolean('stream').notNullable().defaultTo(false);
    t.integer('attempts').notNullable().defaultTo(0);
    t.index(['ts']);
    t.index(['user_id', 'ts']);
    t.index(['gateway_key_id', 'ts']);
  });

  const none = '00000000-0000-0000-0000-000000000000';
  await db.schema.createTable('usage_daily', (t) => {
    t.date('day').notNullable();
    t.uuid('gateway_key_id').notNullable().defaultTo(none);
    t.uuid('user_id').notNullable().defaultTo(none);
    t.uuid('wallet_entry_id').notNullable().defaultTo(none);
    t.text('service').notNullable().defaultTo('');
    t.text('model').notNullable().defaultTo('');
    t.bigInteger('requests').notNullable().defaultTo(0);
    t.bigInteger('errors').notNullable().defaultTo(0);
    t.bigInteger('prompt_tokens').notNullable().defaultTo(0);
    t.bigInteger('completion_tokens').notNullable().defaultTo(0);
    t.bigInteger('cost_micros').notNullable().defaultTo(0);
    t.bigInteger('latency_ms_sum').notNullable().defaultTo(0);
    t.primary(['day', 'gateway_key_id', 'user_id', 'wallet_entry_id', 'service', 'model']);
    t.index(['user_id', 'day']);
  });

  await db.schema.createTable('audit_log', (t) => {
    t.bigIncrements('id').primary();
    t.timestamp('ts', { useTz: true }).notNullable();
    t.text('actor_type').notNullable(); // user|system|cli
    t.uuid('actor_id');
    t.text('action').notNullable();
    t.text('target_type').notNullable();
    t.text('target_id');
    t.text('ip');
    t.text('request_id');
    t.jsonb('before');
    t.jsonb('after');
    t.text('prev_hash').notNullable();
    t.text('hash').notNullable().unique();
    t.index(['target_type', 'target_id']);
    t.index(['actor_id']);
  });

  // The audit log is append-only: the database itself refuses changes, whatever the application does.
  await db.raw(`
    create or replace function keywallet_audit_append_only() returns trigger as $$
    begin
      raise exception 'audit_log is append-only (% refused)', tg_op using errcode = '42501';
    end;
    $$ language plpgsql;
  `);
  await db.raw(`create trigger audit_log_no_update before update or delete on audit_log
                for each row execute function keywallet_audit_append_only()`);
  await db.raw(`create trigger audit_log_no_truncate before truncate on audit_log
                for each statement execute function keywallet_audit_append_only()`);
}

export async function down(): Promise<void> {
  throw new Error('001_initial cannot be rolled back: restore from a backup instead');
}
