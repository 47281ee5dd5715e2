import type { Db } from '../store/db';
import { labelsFor, pickRollup, present, RollupTable, scoped, SUMS, UsageFilter, UsageRow, UsageTotals } from './analytics';
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
type List = (typeof LISTS)[number];

type Row = UsageSums & { set: number; service: string | null; model: string | null; user_id: string | null; gateway_key_id: string | null };

/** Largest cost first, then requests; "none" (null) after the named groups, as the per-group reports order them. */
function byCostThenRequests(a: UsageRow, b: UsageRow): number {
  return b.costMicros - a.costMicros || b.requests - a.requests || Number(a.group === null) - Number(b.group === null) || String(a.group).localeCompare(String(b.group));
}

/** Per-group rows (and the totals row) of some lists, one pass over one rollup (GROUPING SETS). */
async function groupedRows(db: Db, filter: UsageFilter, table: RollupTable, lists: readonly List[]): Promise<Map<List, Row[]> & { totals?: Row }> {
  const columns = lists.map((l) => l.column);
  const rows = (await scoped(db, filter, table)
    .select(db.raw(`grouping(${columns.join(', ')}) as set, ${columns.join(', ')}, ${SUMS}`))
    .groupByRaw(`grouping sets (${columns.map((c) => `(${c})`).join(', ')}, ())`)) as Row[];
  // grouping() sets a bit for each column the row is NOT grouped by, first column = highest bit
  const all = columns.length;
  const full = (1 << all) - 1;
  const out = new Map<List, Row[]>() as Map<List, Row[]> & { totals?: Row };
  lists.forEach((l, i) => out.set(l, rows.filter((r) => Number(r.set) === full - (1 << (all - 1 - i)))));
  out.totals = rows.find((r) => Number(r.set) === full);
  return out;
}

/**
 * Totals and the top services, models, users and keys of a period: the console refreshes this every few seconds,
 * so each rollup is read once (GROUPING SETS) and each list from the slimmest rollup that has it — services and
 * models from a slim one, users and keys from usage_daily_users over whole days — the wide rollups only where a
 * filter needs them (then one pass answers all four).
 */
export async function usageOverview(db: Db, filter: UsageFilter, topN = 5): Promise<UsageOverview> {
  const byTable = new Map<RollupTable, List[]>();
  for (const l of LISTS) {
    const table = pickRollup(filter, l.groupBy === 'service' || l.groupBy === 'model' ? ['service', 'model'] : ['user', 'key']);
    byTable.set(table, [...(byTable.get(table) ?? []), l]);
  }
  const results = await Promise.all([...byTable.entries()].map(([table, lists]) => groupedRows(db, filter, table, lists)));
  const rowsOf = new Map<List, Row[]>(results.flatMap((r) => [...r.entries()]));
  // every rollup holds the same totals: take them from the first (slimmest) read
  const totalsRow = results[0].totals;
  const totals = present(totalsRow ?? { requests: 0, errors: 0, prompt_tokens: 0, completion_tokens: 0, cost_micros: 0, latency_ms_sum: 0 });
  const top = {} as UsageOverview['top'];
  await Promise.all(
    LISTS.map(async (l) => {
      const { list, column, groupBy } = l;
      const mine = rowsOf.get(l) ?? [];
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
