import type { Knex } from 'knex';

/**
 * services.credential_check: the request that asks a provider whether a key itself is good (e.g. OpenAI
 * `GET /v1/models`). A /proxy 401/403 on a client-chosen path invalidates nothing by itself; only this probe's
 * 401/403 does. Built-ins get theirs here (boot's seeds insert missing rows only, so existing rows need it set).
 *
 * gateway_keys.admin_restrictions: the restrictions an admin set on a key (scopes, services, models, IP ranges,
 * referrers, expiry, limits, monthly credits). The key's owner may only narrow them. Keys that someone other
 * than their owner created or changed before this migration get their current restrictions locked: who set which
 * field is not recorded, and locking is the side that cannot be abused.
 *
 * model_prices.web_search_per_call: USD per server-side web search a call made (Anthropic's
 * usage.server_tool_use.web_search_requests, OpenAI's web search), billed on top of the tokens; null = not priced.
 */

export const BUILTIN_CREDENTIAL_CHECKS: Record<string, { method: 'GET'; path: string; query?: Record<string, string> }> = {
  openai: { method: 'GET', path: '/v1/models' },
  anthropic: { method: 'GET', path: '/v1/models' },
  stripe: { method: 'GET', path: '/v1/balance' },
  openweather: { method: 'GET', path: '/data/2.5/weather', query: { lat: '0', lon: '0' } },
};

/** $10 per 1,000 searches (Anthropic's and OpenAI's web search tool prices) */
const BUILTIN_WEB_SEARCH_PRICES: Record<string, number> = {
  'claude-haiku-4-5': 0.01, 'claude-sonnet-4-5': 0.01, 'claude-opus-4-1': 0.01, 'claude-*': 0.01,
  'gpt-5': 0.01, 'gpt-5-mini': 0.01, 'gpt-4o': 0.01, 'gpt-4o-mini': 0.01, 'gpt-*': 0.01,
};

const LOCKABLE: [column: string, field: string][] = [
  ['scopes', 'scopes'],
  ['services', 'services'],
  ['models', 'models'],
  ['allowed_ips', 'allowedIps'],
  ['allowed_referrers', 'allowedReferrers'],
  ['expires_at', 'expiresAt'],
  ['limits', 'limits'],
  ['monthly_credits_micros', 'monthlyCreditsMicros'],
];

const parsed = (v: unknown) => (typeof v === 'string' ? JSON.parse(v) : v);

export async function up(db: Knex): Promise<void> {
  await db.schema.alterTable('services', (t) => {
    t.jsonb('credential_check');
  });
  for (const [slug, check] of Object.entries(BUILTIN_CREDENTIAL_CHECKS)) {
    await db('services').where({ slug, builtin: true }).whereNull('credential_check').update({ credential_check: JSON.stringify(check) });
  }

  await db.schema.alterTable('model_prices', (t) => {
    t.decimal('web_search_per_call', 14, 6);
  });
  for (const [model, usd] of Object.entries(BUILTIN_WEB_SEARCH_PRICES)) {
    await db('model_prices').where({ model }).whereNull('web_search_per_call').update({ web_search_per_call: usd });
  }

  await db.schema.alterTable('gateway_keys', (t) => {
    t.jsonb('admin_restrictions');
  });
  const touched = (await db('audit_log as a')
    .joinRaw('join gateway_keys as k on k.id::text = a.target_id')
    .where('a.target_type', 'api_key')
    .whereIn('a.action', ['api_key.create', 'api_key.update', 'api_key.rotate'])
    .andWhere((q) => q.whereNull('a.actor_id').orWhereRaw('a.actor_id <> k.user_id'))
    .distinct('k.id')) as { id: string }[];
  for (const { id } of touched) {
    const row = await db('gateway_keys').where({ id }).first();
    const locks: Record<string, unknown> = {};
    for (const [column, field] of LOCKABLE) {
      const value = field === 'expiresAt' ? row[column] && new Date(row[column]).toISOString() : parsed(row[column]);
      if (value !== null && value !== undefined) locks[field] = field === 'monthlyCreditsMicros' ? Number(value) : value;
    }
    if (Object.keys(locks).length) await db('gateway_keys').where({ id }).update({ admin_restrictions: JSON.stringify(locks) });
  }
}

export async function down(db: Knex): Promise<void> {
  await db.schema.alterTable('gateway_keys', (t) => {
    t.dropColumn('admin_restrictions');
  });
  await db.schema.alterTable('model_prices', (t) => {
    t.dropColumn('web_search_per_call');
  });
  await db.schema.alterTable('services', (t) => {
    t.dropColumn('credential_check');
  });
}
