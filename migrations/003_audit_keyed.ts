import type { Knex } from 'knex';

/**
 * The audit chain becomes keyed: each new row's hash is an HMAC (keyed BLAKE2b) under a key derived from the master
 * key, and `key_version` says which master key version. Rows written before stay as they are (key_version null,
 * plain SHA-256); at the next boot the first keyed row, `audit.chain_keyed`, seals them by recording how many there
 * were and their head hash, so they cannot be re-hashed either (see src/audit/chain.ts).
 */
export async function up(db: Knex): Promise<void> {
  await db.schema.alterTable('audit_log', (t) => {
    t.integer('key_version');
  });
}

export async function down(db: Knex): Promise<void> {
  await db.schema.alterTable('audit_log', (t) => {
    t.dropColumn('key_version');
  });
}
