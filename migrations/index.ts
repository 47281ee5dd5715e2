import type { Knex } from 'knex';
import * as m001 from './001_initial';
import * as m002 from './002_token_version';
import * as m003 from './003_audit_keyed';
import * as m004 from './004_usage_hourly';
import * as m005 from './005_console_sessions';
import * as m006 from './006_usage_event_id';
import * as m007 from './007_credential_checks_key_locks_tool_prices';
import * as m009 from './009_llm_responses';
import * as m010 from './010_teams';
import * as m011 from './011_price_rates';
import * as m012 from './012_budgets';
import * as m013 from './013_team_attribution_pools';
import * as m014 from './014_usage_slim_rollups';
import * as m015 from './015_webhooks_alerts';

/** Migrations are listed in code so the same list runs from TypeScript (tests, tsx) and compiled JS. */
const migrations: Record<string, Knex.Migration> = {
  '001_initial': m001,
  '002_token_version': m002,
  '003_audit_keyed': m003,
  '004_usage_hourly': m004,
  '005_console_sessions': m005,
  '006_usage_event_id': m006,
  '007_credential_checks_key_locks_tool_prices': m007,
  '009_llm_responses': m009,
  '010_teams': m010,
  '011_price_rates': m011,
  '012_budgets': m012,
  '013_team_attribution_pools': m013,
  '014_usage_slim_rollups': m014,
  '015_webhooks_alerts': m015,
};

export const migrationSource: Knex.MigrationSource<string> = {
  getMigrations: async () => Object.keys(migrations).sort(),
  getMigrationName: (name) => name,
  getMigration: async (name) => migrations[name],
};
