import { formatUsageTable } from '../../src/usage/table';
import type { UsageRow } from '../../src/usage/analytics';

function row(group: string | null, label: string | null, requests: number, errors: number, costMicros: number): UsageRow {
  return {
    group,
    label,
    requests,
    errors,
    promptTokens: requests * 100,
    completionTokens: requests * 10,
    costMicros,
    costUsd: costMicros / 1e6,
    avgLatencyMs: 250,
  };
}

describe('formatUsageTable', () => {
  const rows = [row('u1', 'alice@example.test', 1200, 12, 2_500_000), row(null, null, 3, 3, 0)];
  const totals = { requests: 1203, errors: 15, promptTokens: 120_300, completionTokens: 12_030, costMicros: 2_500_000, costUsd: 2.5, avgLatencyMs: 249 };
  const lines = formatUsageTable(rows, totals, 'user').trimEnd().split('\n');

  it('prints a header, a rule, one line per row, a rule and a total row', () => {
    expect(lines).toHaveLength(6);
    expect(lines[0]).toMatch(/^USER\s+REQUESTS\s+ERRORS\s+ERROR %\s+PROMPT TOK\s+COMPLETION TOK\s+COST USD\s+AVG MS$/);
    expect(lines[1]).toMatch(/^-+( +-+)+$/);
    expect(lines[2]).toMatch(/^alice@example\.test\s+1,200\s+12\s+1\.0%\s+120,000\s+12,000\s+\$2\.500000\s+250$/);
    expect(lines[3]).toMatch(/^\(none\)\s+3\s+3\s+100\.0%/);
    expect(lines[5]).toMatch(/^TOTAL\s+1,203\s+15\s+1\.2%\s+120,300\s+12,030\s+\$2\.500000\s+249$/);
  });

  it('aligns every column: the same width on every line, numbers flush right', () => {
    const width = lines[1].length;
    for (const line of [lines[0], lines[2], lines[5]]) expect(line.length).toBe(width);
    const costEnd = lines[0].indexOf('COST USD') + 'COST USD'.length;
    expect(lines[2].slice(0, costEnd).endsWith('$2.500000')).toBe(true);
    expect(lines[5].slice(0, costEnd).endsWith('$2.500000')).toBe(true);
  });
});
