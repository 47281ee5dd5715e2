import type { Knex } from 'knex';

/**
 * Teams (issue 17, foundation): a team groups users, carries ceilings for its keys (rpm, tpm, services,
 * models; null = no ceiling) and a monthly budget that is stored but not yet enforced. A gateway key may
 * belong to one team (gateway_keys.team_id). Team roles are per team (team_members.role).
 */
export async function up(db: Knex): Promise<void> {
  await db.schema.createTable('teams', (t) => {
    t.uuid('id').primary();
    t.text('name').notNullable();
    t.text('slug').notNullable().unique();
    t.bigInteger('monthly_budget_micros');
    t.integer('rpm');
    t.integer('tpm');
    t.jsonb('services');
    t.jsonb('models');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(db.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(db.fn.now());
  });
  await db.schema.createTable('team_members', (t) => {
    t.uuid('team_id').notNullable().references('teams.id').onDelete('CASCADE');
    t.uuid('user_id').notNullable().references('users.id').onDelete('CASCADE');
    t.text('role').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(db.fn.now());
    t.primary(['team_id', 'user_id']);
    t.index(['user_id']);
    t.check(`role in ('team_admin','member')`, [], 'team_members_role_check');
  });
  await db.schema.alterTable('gateway_keys', (t) => {
    t.uuid('team_id').references('teams.id').onDelete('SET NULL');
    t.index(['team_id']);
  });
}

export async function down(db: Knex): Promise<void> {
  await db.schema.alterTable('gateway_keys', (t) => {
    t.dropIndex(['team_id']);
    t.dropColumn('team_id');
  });
  await db.schema.dropTable('team_members');
  await db.schema.dropTable('teams');
}
