import type { UsageSums } from './rollup';
import type { Knex } from 'knex';
import type { Db } from '../store/db';
import { NO_ID } from './event';
import type { StatusClass } from './rollup-hourly';
import { rangeBounds, UsageRange } from './range';

/**
 * Usage analytics, read from the rollups only (never the raw events): the slimmest rollup that has the dimensions
 * a query filters and groups by (ROLLUPS below), hourly ones where a range needs hour precision. A report over a year reads at most a few rows per
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

/**
 * The rollups analytics read, slimmest first: a query reads the first one that has every dimension its filter
 * and grouping use, at the time precision it needs. The slim ones (migration 014) drop the user, key and wallet
 * entry (or the service and model), so an all-users chart over 90 days sums thousands of rows, not hundreds of thousands.
 */
export type Dim = 'service' | 'model' | 'user' | 'key' | 'providerKey' | 'status' | 'team';
export interface RollupShape {
  /** the time column: a UTC date (day) or the start of a UTC hour (hour) */
  time: 'day' | 'hour';
  dims: readonly Dim[];
  /** has upstream_requests and added_latency_ms_sum (the gateway-added latency) */
  added: boolean;
}
export const ROLLUPS = {
  usage_daily_slim: { time: 'day', dims: ['service', 'model', 'status', 'team'], added: true },
  usage_daily_users: { time: 'day', dims: ['user', 'key', 'team'], added: false },
  usage_hourly_slim: { time: 'hour', dims: ['service', 'model', 'status', 'team'], added: true },
  usage_daily: { time: 'day', dims: ['service', 'model', 'user', 'key', 'providerKey', 'team'], added: false },
  usage_hourly: { time: 'hour', dims: ['service', 'model', 'user', 'key', 'providerKey', 'status', 'team'], added: true },
} as const satisfies Record<string, RollupShape>;
export type RollupTable = keyof typeof ROLLUPS;

const DIM_COLUMN: Record<Dim, string> = {
  service: 'service',
  model: 'model',
  user: 'user_id',
  key: 'gateway_key_id',
  providerKey: 'wallet_entry_id',
  status: 'status_class',
  team: 'team_id',
};
// the filter fields each table can answer; a field added to UsageFilter later (and not listed) reads the wide rollups
const FILTER_DIM: Record<string, Dim | null> = { from: null, to: null, hours: null, service: 'service', model: 'model', userId: 'user', keyId: 'key', status: 'status', teamId: 'team' };

/** The dimensions a filter narrows by; undefined when it has a field this module does not know. */
function filterDims(f: UsageFilter): Dim[] | undefined {
  const dims: Dim[] = [];
  for (const [k, v] of Object.entries(f)) {
    if (v === undefined) continue;
    if (!(k in FILTER_DIM)) return undefined;
    const d = FILTER_DIM[k];
    if (d) dims.push(d);
  }
  return dims;
}

/** The slimmest rollup with every dimension in `dims` (plus the filter's) at the precision needed. */
export function pickRollup(f: UsageFilter, dims: readonly Dim[], opts: { hour?: boolean } = {}): RollupTable {
  const hour = Boolean(f.hours || opts.hour);
  const wanted = filterDims(f);
  if (!wanted) return hour || f.status ? 'usage_hourly' : 'usage_daily';
  const need = new Set<Dim>([...wanted, ...dims]);
  for (const [name, shape] of Object.entries(ROLLUPS) as [RollupTable, RollupShape][]) {
    if (hour && shape.time !== 'hour') continue;
    if ([...need].every((d) => shape.dims.includes(d))) return name;
  }
  return 'usage_hourly';
}

/** The rollup a report grouped by `groupBy` (or bucketed by hour) reads. */
export function rollupFor(f: UsageFilter, groupBy?: GroupBy | 'hour'): RollupTable {
  if (groupBy === 'hour') return pickRollup(f, [], { hour: true });
  return pickRollup(f, groupBy && groupBy !== 'day' ? [groupBy] : []);
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
  status: `nullif(status_class, '')`,
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
  if (groupBy === 'day' && ROLLUPS[table].time === 'hour') return `to_char(hour at time zone 'UTC', 'YYYY-MM-DD')`;
  return GROUP_EXPR[groupBy];
}

/** The rollup rows a filter selects; an hourly range starts at its first hour. */
export function scoped(db: Db, f: UsageFilter, table: RollupTable = rollupFor(f)): Knex.QueryBuilder {
  let q: Knex.QueryBuilder;
  const shape: RollupShape = ROLLUPS[table];
  if (shape.time === 'day') {
    q = db(table).whereBetween('day', [f.from, f.to]);
  } else {
    const { start, end } = rangeBounds(f);
    q = db(table).where('hour', '>=', start).where('hour', '<', end);
  }
  const where = (dim: Dim, value: string | undefined) => {
    if (value === undefined) return;
    if (!shape.dims.includes(dim)) throw new Error(`${table} has no ${dim}: pickRollup chose the wrong table`);
    q.where(DIM_COLUMN[dim], value);
  };
  where('status', f.status);
  where('service', f.service);
  where('model', f.model);
  where('user', f.userId);
  where('key', f.keyId);
  where('team', f.teamId);
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
