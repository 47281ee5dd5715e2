import type { Db } from '../store/db';
import { labelsFor, present, scoped, SUMS, UsageFilter, UsageRow, UsageTotals } from './analytics';
import { NO_ID, NO_NAME } from './event';
import type { UsageSums } from './rollup';

export interface UsageOverview {
  from: string;
  to: string;
  totals: UsageTotals & { errorRate: number; totalTokens: number };
  top: { services: UsageRow[]; models: UsageRow[]; users: UsageRow[]; keys: UsageRow[] };
}

const LISTS = [
  { list: 'services', column: 'service', groupBy: 'service' },
  { list: 'models', column: 'model', groupBy: 'model' },
  { list: 'users', column: 'user_id', groupBy: 'user' },
  { list: 'keys', column: 'gateway_key_id', groupBy: 'key' },
] as const;

type Row = UsageSums & { set: number; service: string | null; model: string | null; user_id: string | null; gateway_key_id: string | null };

/** Largest cost first, then requests; "none" (null) after the named groups, as the per-group reports order them. */
function byCostThenRequests(a: UsageRow, b: UsageRow): number {
  return b.costMicros - a.costMicros || b.requests - a.requests || Number(a.group === null) - Number(b.group === null) || String(a.group).localeCompare(String(b.group));
}

/**
 * Totals and the top services, models, users and keys of a period, in one pass over the rollup rows (GROUPING SETS):
 * the console refreshes this every few seconds, and five scans of a month of rollups cost five times one.
 */
export async function usageOverview(db: Db, filter: UsageFilter, topN = 5): Promise<UsageOverview> {
  const columns = LISTS.map((l) => l.column);
  const rows = (await scoped(db, filter)
    .select(db.raw(`grouping(${columns.join(', ')}) as set, ${columns.join(', ')}, ${SUMS}`))
    .groupByRaw(`grouping sets (${columns.map((c) => `(${c})`).join(', ')}, ())`)) as Row[];
  // grouping() sets a bit for each column the row is NOT grouped by, first column = highest bit
  const all = columns.length;
  const bit = (i: number) => 1 << (all - 1 - i);
  const full = (1 << all) - 1;
  const totalsRow = rows.find((r) => Number(r.set) === full);
  const totals = present(totalsRow ?? { requests: 0, errors: 0, prompt_tokens: 0, completion_tokens: 0, cost_micros: 0, latency_ms_sum: 0 });
  const top = {} as UsageOverview['top'];
  await Promise.all(
    LISTS.map(async ({ list, column, groupBy }, i) => {
      const mine = rows.filter((r) => Number(r.set) === full - bit(i));
      const ranked = mine
        .map((r) => {
          const raw = r[column];
          const group = raw === null || raw === NO_ID || raw === NO_NAME ? null : String(raw);
          return { group, label: group, ...present(r) };
        })
        .sort(byCostThenRequests)
        .slice(0, topN);
      const labels = await labelsFor(db, groupBy, ranked.map((r) => r.group).filter((g): g is string => g !== null));
      top[list] = ranked.map((r) => ({ ...r, label: r.group === null ? null : labels.get(r.group) ?? r.group }));
    }),
  );
  return {
    from: filter.from,
    to: filter.to,
    totals: {
      ...totals,
      errorRate: totals.requests ? totals.errors / totals.requests : 0,
      totalTokens: totals.promptTokens + totals.completionTokens,
    },
    top,
  };
}
