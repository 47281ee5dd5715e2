import type { Knex } from 'knex';

/**
 * Responses API state the gateway keeps. Every stored response has a row: which wallet entry created it (a
 * follow-up or a GET must go back to that entry: another key cannot see it) and whose it is (another user's
 * key gets a 404). A response the gateway translated (served by Anthropic) has no state upstream, so its row
 * also holds the conversation input and the Response object itself. Rows expire with OpenAI's retention.
 */
export async function up(db: Knex): Promise<void> {
  await db.schema.createTable('llm_responses', (t) => {
    t.text('id').primary();
    t.uuid('user_id').notNullable();
    t.uuid('gateway_key_id').notNullable();
    t.uuid('wallet_entry_id').notNullable();
    t.text('service').notNullable();
    t.text('model').notNullable();
    t.boolean('translated').notNullable();
    t.jsonb('input');
    t.jsonb('response');
    t.timestamp('created_at', { useTz: true }).notNullable();
    t.timestamp('expires_at', { useTz: true }).notNullable().index();
  });
}

export async function down(db: Knex): Promise<void> {
  await db.schema.dropTable('llm_responses');
}
