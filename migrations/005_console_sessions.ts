import type { Knex } from 'knex';

/**
 * The web console's server-side sessions, and the forced first password change.
 * - users.must_change_password: set for the admin first boot generates (its password was printed) and when an
 *   admin resets someone else's password; while set, the management API answers only the session, password
 *   and profile routes.
 * - console_sessions: one row per console login. The browser holds only a random token in an httpOnly cookie;
 *   the row keeps its SHA-256, the user's token version at login (a password change ends it) and both expiries.
 */
export async function up(db: Knex): Promise<void> {
  await db.schema.alterTable('users', (t) => {
    t.boolean('must_change_password').notNullable().defaultTo(false);
  });
  await db.schema.createTable('console_sessions', (t) => {
    t.uuid('id').primary();
    t.uuid('user_id').notNullable().references('users.id').onDelete('CASCADE');
    t.string('token_hash', 64).notNullable().unique();
    t.integer('token_version').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable();
    t.timestamp('last_seen_at', { useTz: true }).notNullable();
    t.timestamp('expires_at', { useTz: true }).notNullable();
    t.index(['user_id']);
    t.index(['expires_at']);
  });
}

export async function down(db: Knex): Promise<void> {
  await db.schema.dropTable('console_sessions');
  await db.schema.alterTable('users', (t) => {
    t.dropColumn('must_change_password');
  });
}
