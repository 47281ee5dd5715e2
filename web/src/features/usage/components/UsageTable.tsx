import { Money } from '../../../components/Money';
import { formatNumber, formatTokens } from '../../../lib/format';
import type { UsageRow } from '../api/usage';

/** Every group of the range with its cost and its share of the total: the cost breakdown, and what the CSV holds. */
export function UsageTable({ rows, groupLabel }: { rows: UsageRow[]; groupLabel: string }) {
  const total = rows.reduce((a, r) => a + r.costMicros, 0);
  return (
    <table aria-label="Usage by group">
      <thead>
        <tr>
          <th scope="col">{groupLabel}</th>
          <th scope="col">Requests</th>
          <th scope="col">Errors</th>
          <th scope="col">Prompt tokens</th>
          <th scope="col">Completion tokens</th>
          <th scope="col">Spend</th>
          <th scope="col">Share of spend</th>
          <th scope="col">Average latency</th>
        </tr>
      </thead>
      <tbody>
        {rows.map((r) => (
          <tr key={r.group ?? '(none)'}>
            <td>{r.label ?? <span className="muted">(none)</span>}</td>
            <td>{formatNumber(r.requests)}</td>
            <td>{formatNumber(r.errors)}</td>
            <td>{formatTokens(r.promptTokens)}</td>
            <td>{formatTokens(r.completionTokens)}</td>
            <td>
              <Money micro={r.costMicros} />
            </td>
            <td>
              <progress max={total || 1} value={r.costMicros} aria-label={`${r.label ?? '(none)'}: share of spend`} />{' '}
              {total ? `${((100 * r.costMicros) / total).toFixed(1)} %` : '—'}
            </td>
            <td>{formatNumber(r.avgLatencyMs)} ms</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
