import type { SqlRunner } from '../store/db';
import type { DailyRollup } from './rollup';
import type { HourlyRollup } from './rollup-hourly';
import { columnArrays } from './pg-array';

/**
 * The slim rollups (migrations/014_usage_slim_rollups.ts): the wide rollups of a batch summed again without the
 * dimensions all-users analytics do not ask for. Kept by the usage writer in the batch's transaction from the same
 * fresh events as usage_daily and usage_hourly, so all five always agree.
 */
const BASE = ['requests', 'errors', 'prompt_tokens', 'completion_tokens', 'cost_micros', 'latency_ms_sum'] as const;
const ADDED = ['upstream_requests', 'added_latency_ms_sum'] as const;

interface Spec<S> {
  table: string;
  keys: readonly string[];
  types: readonly string[];
  sums: readonly string[];
  keyOf: (r: S) => Record<string, string>;
}

const HOURLY_SLIM: Spec<HourlyRollup> = {
  table: 'usage_hourly_slim',
  keys: ['hour', 'service', 'model', 'status_class', 'team_id'],
  types: ['timestamptz', 'text', 'text', 'text', 'uuid'],
  sums: [...BASE, ...ADDED],
  keyOf: (r) => ({ hour: r.hour, service: r.service, model: r.model, status_class: r.status_class, team_id: r.team_id }),
};
const DAILY_SLIM: Spec<HourlyRollup> = {
  table: 'usage_daily_slim',
  keys: ['day', 'service', 'model', 'status_class', 'team_id'],
  types: ['date', 'text', 'text', 'text', 'uuid'],
  sums: [...BASE, ...ADDED],
  keyOf: (r) => ({ day: r.hour.slice(0, 10), service: r.service, model: r.model, status_class: r.status_class, team_id: r.team_id }),
};
const DAILY_USERS: Spec<DailyRollup> = {
  table: 'usage_daily_users',
  keys: ['day', 'user_id', 'gateway_key_id', 'team_id'],
  types: ['date', 'uuid', 'uuid', 'uuid'],
  sums: [...BASE],
  keyOf: (r) => ({ day: r.day, user_id: r.user_id, gateway_key_id: r.gateway_key_id, team_id: r.team_id }),
};

const upsertSql = (s: Spec<unknown>) => `insert into ${s.table} (${[...s.keys, ...s.sums].join(', ')})
  select * from unnest(${[...s.types, ...s.sums.map(() => 'int8')].map((t) => `?::${t}[]`).join(', ')})
  on conflict (${s.keys.join(', ')}) do update set
  ${s.sums.map((c) => `${c} = ${s.table}.${c} + excluded.${c}`).join(',\n  ')}`;
const SQL = new Map<Spec<never>, string>([HOURLY_SLIM, DAILY_SLIM, DAILY_USERS].map((s) => [s as Spec<never>, upsertSql(s as Spec<unknown>)]));

/** Sums rows into one per slim key, sorted by key (one row per key for the upsert; the same lock order on every node). */
export function rollUpSlim<S extends object>(spec: Spec<S>, rows: readonly S[]): Record<string, string | number>[] {
  const byKey = new Map<string, Record<string, string | number>>();
  for (const r of rows) {
    const key = spec.keyOf(r);
    const id = spec.keys.map((k) => key[k]).join('\u0000');
    let sum = byKey.get(id);
    if (!sum) {
      sum = { ...key };
      for (const c of spec.sums) sum[c] = 0;
      byKey.set(id, sum);
    }
    for (const c of spec.sums) (sum[c] as number) += Number((r as Record<string, unknown>)[c] ?? 0);
  }
  return [...byKey.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, v]) => v);
}

async function upsert<S extends object>(trx: SqlRunner, spec: Spec<S>, rows: readonly S[]): Promise<void> {
  const slim = rollUpSlim(spec, rows);
  if (!slim.length) return;
  await trx.raw(SQL.get(spec as Spec<never>)!, columnArrays(slim, [...spec.keys, ...spec.sums]));
}

/** Adds a batch's wide rollups to the slim ones; call it in the transaction that inserts the events. */
export async function upsertSlim(trx: SqlRunner, hourly: readonly HourlyRollup[], daily: readonly DailyRollup[]): Promise<void> {
  await upsert(trx, HOURLY_SLIM, hourly);
  await upsert(trx, DAILY_SLIM, hourly);
  await upsert(trx, DAILY_USERS, daily);
}

export const SLIM_SPECS = { HOURLY_SLIM, DAILY_SLIM, DAILY_USERS };
