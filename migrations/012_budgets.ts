import type { Knex } from 'knex';

/**
 * Budgets at every level (issue 17): a team's budget gets a period (teams.monthly_budget_micros keeps the amount,
 * per period despite its name; budget_period says which: monthly / weekly / daily in BUDGET_TIME_ZONE, or a
 * rolling 24 h / 7 d / 30 d window), a team admin's split of it per member (team_members.budget_micros) and per
 * key (gateway_keys.team_budget_micros, in the key's team's period), and an organisation-wide budget, kept in a
 * new settings table (one row, 'org_budget'). Null everywhere = no budget at that level: existing data behaves as
 * before.
 */
export async function up(db: Knex): Promise<void> {
  await db.schema.alterTable('teams', (t) => {
    t.text('budget_period').notNullable().defaultTo('monthly');
    t.check(`budget_period in ('monthly','weekly','daily','rolling_24h','rolling_7d','rolling_30d')`, [], 'teams_budget_period_check');
  });
  await db.schema.alterTable('team_members', (t) => {
    t.bigInteger('budget_micros');
  });
  await db.schema.alterTable('gateway_keys', (t) => {
    t.bigInteger('team_budget_micros');
  });
  await db.schema.createTable('settings', (t) => {
    t.text('key').primary();
    t.jsonb('value').notNullable();
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(db.fn.now());
  });
}

export async function down(db: Knex): Promise<void> {
  await db.schema.dropTable('settings');
  await db.schema.alterTable('gateway_keys', (t) => t.dropColumn('team_budget_micros'));
  await db.schema.alterTable('team_members', (t) => t.dropColumn('budget_micros'));
  await db.schema.alterTable('teams', (t) => {
    t.dropChecks(['teams_budget_period_check']);
    t.dropColumn('budget_period');
  });
}
