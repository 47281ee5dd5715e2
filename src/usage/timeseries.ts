import type { Db } from '../store/db';
import { labelsFor, pickRollup, present, ROLLUPS, scoped, SUMS, UsageFilter, UsageTotals } from './analytics';
import { NO_ID, NO_NAME } from './event';
import { rangeBounds } from './range';
import type { UsageSums } from './rollup';

/**
 * Usage over time for the console's charts: one series per group (the top N by cost, then requests, the rest
 * summed into one "other" series), a point per bucket, empty buckets as zeros, so every series has the same x axis.
 */
export const SERIES_GROUP_BY = ['service', 'model', 'user', 'key', 'providerKey', 'status', 'team'] as const;
export type SeriesGroupBy = (typeof SERIES_GROUP_BY)[number];
export type Bucket = 'hour' | 'day';

export interface SeriesPoint extends UsageTotals {
  /** start of the bucket, an ISO instant (UTC) */
  t: string;
  /** average time the gateway added to calls that reached an upstream; where the rollup read has it (not per user or key by day) */
  avgAddedLatencyMs?: number;
}

export interface Series {
  /** the service, model, id or status class; null for events without one; '(other)' for the rest after the top N */
  group: string | null;
  label: string;
  totals: UsageTotals;
  points: SeriesPoint[];
}

export const OTHER = '(other)';
const TOTAL = '(total)';
const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;

// Grouping on the raw columns: a sentinel ('' or the zero uuid) stays a value here and becomes null when presented.
const RAW_GROUP: Record<SeriesGroupBy, string> = {
  service: 'service',
  model: 'model',
  user: 'user_id',
  key: 'gateway_key_id',
  providerKey: 'wallet_entry_id',
  status: 'status_class',
  team: 'team_id',
};
const ADDED_SUMS = 'coalesce(sum(upstream_requests), 0) as upstream_requests, coalesce(sum(added_latency_ms_sum), 0) as added_latency_ms_sum';

type Row = UsageSums & { t: string; grp: string; upstream_requests?: number; added_latency_ms_sum?: number };

function bucketStarts(filter: UsageFilter, bucket: Bucket): string[] {
  const { start, end } = rangeBounds(filter);
  const step = bucket === 'hour' ? HOUR_MS : DAY_MS;
  const first = Math.floor(Date.parse(start) / step) * step;
  const out: string[] = [];
  for (let t = first; t < Date.parse(end); t += step) out.push(new Date(t).toISOString().replace('.000Z', 'Z'));
  return out;
}

function point(t: string, r: Row | undefined, hourly: boolean): SeriesPoint {
  const zero = { requests: 0, errors: 0, prompt_tokens: 0, completion_tokens: 0, cost_micros: 0, latency_ms_sum: 0 };
  const p: SeriesPoint = { t, ...present(r ?? zero) };
  if (hourly) {
    const upstream = Number(r?.upstream_requests ?? 0);
    p.avgAddedLatencyMs = upstream ? Math.round(Number(r!.added_latency_ms_sum) / upstream) : 0;
  }
  return p;
}

export async function usageTimeseries(
  db: Db,
  filter: UsageFilter,
  opts: { bucket: Bucket; groupBy?: SeriesGroupBy; top: number },
): Promise<Series[]> {
  const table = pickRollup(filter, opts.groupBy ? [opts.groupBy] : [], { hour: opts.bucket === 'hour' });
  const shape = ROLLUPS[table];
  // `hourly` below: the table has the gateway-added latency (the hourly ones and the slim daily one)
  const hourly = shape.added;
  // the bucket and the group stay native (timestamp, date, uuid) through the grouping; text only for the result rows
  const t = shape.time === 'hour' ? `date_trunc('${opts.bucket}', hour at time zone 'UTC')` : 'day';
  const tText = shape.time === 'hour' ? `to_char(t, 'YYYY-MM-DD"T"HH24:00:00"Z"')` : `to_char(t, 'YYYY-MM-DD"T00:00:00Z"')`;
  const sums = hourly ? `${SUMS}, ${ADDED_SUMS}` : SUMS;
  const groupBy = opts.groupBy;

  const sumCols = ['requests', 'errors', 'prompt_tokens', 'completion_tokens', 'cost_micros', 'latency_ms_sum', ...(hourly ? ['upstream_requests', 'added_latency_ms_sum'] : [])];
  // Two passes over the rollup rows, no intermediate per-(bucket, group) table: the groups ranked by cost and
  // requests over the whole range, then sums per (bucket, group) with the groups past the top N folded into one.
  // The console refreshes this every few seconds.
  let folded: { sql: string; bindings: readonly unknown[] };
  if (groupBy) {
    const raw = RAW_GROUP[groupBy];
    const ranked = scoped(db, filter, table)
      .select(db.raw(`${raw} as grp, row_number() over (order by sum(cost_micros) desc, sum(requests) desc, ${raw}) as rank`))
      .groupByRaw('1')
      .toSQL();
    const fold = scoped(db, filter, table)
      .joinRaw(`join ranked on ranked.grp = ${raw}`)
      .select(db.raw(`${t} as t, case when ranked.rank <= ? then (${raw})::text else '${OTHER}' end as grp, min(ranked.rank) as rank, ${sums}`, [opts.top]))
      .groupByRaw('1, 2')
      .toSQL();
    folded = { sql: `with ranked as (${ranked.sql}), folded as (${fold.sql})`, bindings: [...ranked.bindings, ...fold.bindings] };
  } else {
    const all = scoped(db, filter, table).select(db.raw(`${t} as t, '${TOTAL}'::text as grp, 1 as rank, ${sums}`)).groupByRaw('1').toSQL();
    folded = { sql: `with folded as (${all.sql})`, bindings: all.bindings };
  }
  const result = await db.raw(`${folded.sql} select ${tText} as t, grp, rank, ${sumCols.join(', ')} from folded`, folded.bindings as never);
  const rows = (result.rows ?? result) as (Row & { rank: number })[];
  const rankOf = new Map<string, number>();
  for (const r of rows) rankOf.set(r.grp, Math.min(rankOf.get(r.grp) ?? Infinity, Number(r.rank)));
  const ranked = [...rankOf.entries()].sort(([, a], [, b]) => a - b).map(([g]) => g);

  const byGroup = new Map<string, Map<string, Row>>();
  for (const r of rows) {
    let m = byGroup.get(r.grp);
    if (!m) byGroup.set(r.grp, (m = new Map()));
    m.set(r.t, r);
  }
  const order = ranked.length ? ranked : groupBy ? [] : [TOTAL];
  const starts = bucketStarts(filter, opts.bucket);
  const idGroups = order.filter((g) => g !== OTHER && g !== NO_ID && g !== NO_NAME);
  const labels = groupBy ? await labelsFor(db, groupBy, idGroups) : new Map<string, string>();
  return order.map((g) => {
    const m = byGroup.get(g) ?? new Map<string, Row>();
    const points = starts.map((s) => point(s, m.get(s), hourly));
    const none = g === NO_ID || g === NO_NAME;
    const group = g === TOTAL ? null : none ? null : g;
    const label = g === TOTAL ? 'all' : g === OTHER ? 'other' : none ? 'none' : labels.get(g) ?? g;
    return { group, label, totals: totalsOf([...m.values()]), points };
  });
}

function totalsOf(rows: Row[]): UsageTotals {
  const sum = (c: keyof UsageSums) => rows.reduce((a, r) => a + Number(r[c] ?? 0), 0);
  return present({
    requests: sum('requests'),
    errors: sum('errors'),
    prompt_tokens: sum('prompt_tokens'),
    completion_tokens: sum('completion_tokens'),
    cost_micros: sum('cost_micros'),
    latency_ms_sum: sum('latency_ms_sum'),
  });
}
