import type { GroupBy, UsageRow, UsageTotals } from './analytics';

const GROUP_TITLES: Record<GroupBy, string> = {
  day: 'DAY',
  service: 'SERVICE',
  model: 'MODEL',
  key: 'KEY',
  user: 'USER',
  providerKey: 'PROVIDER KEY',
  status: 'STATUS',
  team: 'TEAM',
};

const count = (n: number) => n.toLocaleString('en-US');
const percent = (errors: number, requests: number) => (requests ? `${((100 * errors) / requests).toFixed(1)}%` : '-');
const usd = (micros: number) => `$${(micros / 1_000_000).toFixed(6)}`;

function cells(name: string, t: UsageTotals): string[] {
  return [
    name,
    count(t.requests),
    count(t.errors),
    percent(t.errors, t.requests),
    count(t.promptTokens),
    count(t.completionTokens),
    usd(t.costMicros),
    count(t.avgLatencyMs),
  ];
}

/**
 * A plain-text report for a terminal: the group column left-aligned, numbers right-aligned, a rule, and a
 * TOTAL row computed by the database (so the average latency is weighted by requests, not by rows).
 */
export function formatUsageTable(rows: readonly UsageRow[], totals: UsageTotals, groupBy: GroupBy): string {
  const header = [GROUP_TITLES[groupBy], 'REQUESTS', 'ERRORS', 'ERROR %', 'PROMPT TOK', 'COMPLETION TOK', 'COST USD', 'AVG MS'];
  const body = rows.map((r) => cells(r.label ?? '(none)', r));
  const total = cells('TOTAL', totals);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((r) => r[i].length), total[i].length));
  const line = (r: string[]) =>
    r
      .map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i])))
      .join('  ')
      .trimEnd();
  const rule = widths.map((w) => '-'.repeat(w)).join('  ');
  return [line(header), rule, ...body.map(line), rule, line(total)].join('\n') + '\n';
}
