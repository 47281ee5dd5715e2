import type { Knex } from 'knex';

/**
 * Every usage event carries an id minted when the request is recorded; the writer inserts with
 * `on conflict (event_id) do nothing`, so an event replayed from the spool or claimed again from the Redis stream
 * is stored (and added to the daily rollups) once. Rows written before this migration have no id (NULLs never
 * conflict in a unique index).
 */
export async function up(db: Knex): Promise<void> {
  await db.schema.alterTable('usage_events', (t) => {
    t.uuid('event_id');
  });
  await db.raw('create unique index usage_events_event_id_unique on usage_events (event_id)');
}

export async function down(db: Knex): Promise<void> {
  await db.raw('drop index if exists usage_events_event_id_unique');
  await db.schema.alterTable('usage_events', (t) => {
    t.dropColumn('event_id');
  });
}
