import type { UsageSums } from './rollup';
import type { Knex } from 'knex';
import type { Db } from '../store/db';
import { NO_ID } from './event';
import type { StatusClass } from './rollup-hourly';
import { rangeBounds, UsageRange } from './range';

/**
 * Usage analytics, read from the rollups only (never the raw events): usage_daily, or usage_hourly where a
 * range needs hour precision or the status class is involved. A report over a year reads at most a few rows per
 * day and key. The HTTP routes and the CLI report both call these functions.
 */
export const GROUP_BY = ['day', 'service', 'model', 'key', 'user', 'providerKey', 'status', 'team'] as const;
export type GroupBy = (typeof GROUP_BY)[number];

export interface UsageFilter extends UsageRange {
  service?: string;
  model?: string;
  userId?: string;
  keyId?: string;
  status?: StatusClass;
  /** the key's team at call time */
  teamId?: string;
}

export type RollupTable = 'usage_daily' | 'usage_hourly';

/** usage_daily unless the filter needs hours or the status class, which only usage_hourly has. */
export function rollupFor(f: UsageFilter, groupBy?: GroupBy | 'hour'): RollupTable {
  return f.hours || f.status || groupBy === 'status' || groupBy === 'hour' ? 'usage_hourly' : 'usage_daily';
}

export interface UsageTotals {
  requests: number;
  errors: number;
  promptTokens: number;
  completionTokens: number;
  costMicros: number;
  /** credits; 1 credit = 1 USD */
  costUsd: number;
  avgLatencyMs: number;
}

export interface UsageRow extends UsageTotals {
  /** the day, service, model or id; null where the events had none (e.g. refused before a key was known) */
  group: string | null;
  /** readable name: the user's email, the key's, wallet entry's or team's name; the group itself otherwise */
  label: string | null;
}

// The rollups store "none" as '' and the zero uuid (they are part of the primary keys); reports say null.
const GROUP_EXPR: Record<GroupBy, string> = {
  day: `to_char(day, 'YYYY-MM-DD')`,
  status: 'status_class',
  service: `nullif(service, '')`,
  model: `nullif(model, '')`,
  key: `nullif(gateway_key_id, '${NO_ID}')::text`,
  user: `nullif(user_id, '${NO_ID}')::text`,
  providerKey: `nullif(wallet_entry_id, '${NO_ID}')::text`,
  // null: organisation level (a key in no team, and every event from before teams)
  team: `nullif(team_id, '${NO_ID}')::text`,
};

export const SUMS =
  'coalesce(sum(requests), 0) as requests, coalesce(sum(errors), 0) as errors, ' +
  'coalesce(sum(prompt_tokens), 0) as prompt_tokens, coalesce(sum(completion_tokens), 0) as completion_tokens, ' +
  'coalesce(sum(cost_micros), 0) as cost_micros, coalesce(sum(latency_ms_sum), 0) as latency_ms_sum';

type SumsRow = UsageSums;

export function groupExpr(table: RollupTable, groupBy: GroupBy): string {
  if (groupBy === 'day' && table === 'usage_hourly') return `to_char(hour at time zone 'UTC', 'YYYY-MM-DD')`;
  return GROUP_EXPR[groupBy];
}

/** The rollup rows a filter selects; an hourly range starts at its first hour. */
export function scoped(db: Db, f: UsageFilter, table: RollupTable = rollupFor(f)): Knex.QueryBuilder {
  let q: Knex.QueryBuilder;
  if (table === 'usage_daily') {
    q = db('usage_daily').whereBetween('day', [f.from, f.to]);
  } else {
    const { start, end } = rangeBounds(f);
    q = db('usage_hourly').where('hour', '>=', start).where('hour', '<', end);
    if (f.status !== undefined) q.where('status_class', f.status);
  }
  if (f.service !== undefined) q.where('service', f.service);
  if (f.model !== undefined) q.where('model', f.model);
  if (f.userId !== undefined) q.where('user_id', f.userId);
  if (f.keyId !== undefined) q.where('gateway_key_id', f.keyId);
  if (f.teamId !== undefined) q.where('team_id', f.teamId);
  return q;
}

export function present(r: SumsRow): UsageTotals {
  const requests = Number(r.requests);
  const costMicros = Number(r.cost_micros);
  return {
    requests,
    errors: Number(r.errors),
    promptTokens: Number(r.prompt_tokens),
    completionTokens: Number(r.completion_tokens),
    costMicros,
    costUsd: costMicros / 1_000_000,
    avgLatencyMs: requests ? Math.round(Number(r.latency_ms_sum) / requests) : 0,
  };
}

export async function usageTotals(db: Db, filter: UsageFilter): Promise<UsageTotals> {
  const [row] = await scoped(db, filter).select(db.raw(SUMS));
  return present(row as SumsRow);
}

/** One row per group; days in order, everything else by cost then requests, largest first. */
export async function usageReport(
  db: Db,
  filter: UsageFilter,
  groupBy: GroupBy,
  opts: { limit?: number } = {},
): Promise<UsageRow[]> {
  const table = rollupFor(filter, groupBy);
  const q = scoped(db, filter, table)
    .select(db.raw(`${groupExpr(table, groupBy)} as grp, ${SUMS}`))
    .groupByRaw('1')
    .orderByRaw(groupBy === 'day' ? '1' : 'sum(cost_micros) desc, sum(requests) desc, 1 nulls last');
  if (opts.limit !== undefined) q.limit(opts.limit);
  const rows = (await q) as (SumsRow & { grp: string | null })[];
  const labels = await labelsFor(db, groupBy, rows.map((r) => r.grp).filter((g): g is string => g !== null));
  return rows.map((r) => ({ group: r.grp, label: r.grp === null ? null : labels.get(r.grp) ?? r.grp, ...present(r) }));
}

/** Display names for id groups; ids of deleted rows keep the id as their label. */
export async function labelsFor(db: Db, groupBy: GroupBy, ids: string[]): Promise<Map<string, string>> {
  const source = {
    user: { table: 'users', column: 'email' },
    key: { table: 'gateway_keys', column: 'name' },
    providerKey: { table: 'wallet_entries', column: 'label' },
    team: { table: 'teams', column: 'name' },
  }[groupBy as 'user' | 'key' | 'providerKey' | 'team'];
  if (!source || !ids.length) return new Map();
  const rows = (await db(source.table).whereIn('id', ids).select('id', `${source.column} as label`)) as {
    id: string;
    label: string;
  }[];
  return new Map(rows.map((r) => [r.id, r.label]));
}
