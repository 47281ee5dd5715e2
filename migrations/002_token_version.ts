import type { Knex } from 'knex';

/**
 * A user's token version: every JWT carries the version it was issued under, and the guard refuses one whose
 * version is not the user's current one. A password change (own or by an admin) bumps it, so every session
 * issued before is over at once on every node.
 */
export async function up(db: Knex): Promise<void> {
  await db.schema.alterTable('users', (t) => {
    t.integer('token_version').notNullable().defaultTo(0);
  });
}

export async function down(db: Knex): Promise<void> {
  await db.schema.alterTable('users', (t) => {
    t.dropColumn('token_version');
  });
}
