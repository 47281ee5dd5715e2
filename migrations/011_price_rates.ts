import type { Knex } from 'knex';

/**
 * Money right to the cached token: each part of a call a provider prices differently gets its own rate (null =
 * the model's plain input or output rate, or nothing for per-unit fees), every change of the price table is a new
 * numbered version, and each usage event records the version it was billed at.
 */
export async function up(db: Knex): Promise<void> {
  await db.schema.alterTable('model_prices', (t) => {
    // USD per million tokens == micro-USD per token
    t.decimal('cached_input_per_mtok', 14, 6);
    t.decimal('cache_write_per_mtok', 14, 6);
    t.decimal('reasoning_per_mtok', 14, 6);
    t.decimal('audio_input_per_mtok', 14, 6);
    t.decimal('audio_output_per_mtok', 14, 6);
    // USD per unit
    t.decimal('per_request', 14, 6);
    t.decimal('per_image', 14, 6);
    t.decimal('per_second', 14, 6);
    // USD per million characters (speech)
    t.decimal('per_mchar', 14, 6);
  });
  await db.schema.createTable('price_versions', (t) => {
    t.increments('id').primary();
    t.text('source').notNullable(); // seed | api | import
    t.integer('changed').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(db.fn.now());
  });
  await db('price_versions').insert({ source: 'seed', changed: 0 });
  await db.schema.alterTable('usage_events', (t) => {
    t.integer('price_version');
  });
}

export async function down(db: Knex): Promise<void> {
  await db.schema.alterTable('usage_events', (t) => t.dropColumn('price_version'));
  await db.schema.dropTable('price_versions');
  await db.schema.alterTable('model_prices', (t) => {
    for (const c of ['cached_input_per_mtok', 'cache_write_per_mtok', 'reasoning_per_mtok', 'audio_input_per_mtok', 'audio_output_per_mtok', 'per_request', 'per_image', 'per_second', 'per_mchar']) t.dropColumn(c);
  });
}
