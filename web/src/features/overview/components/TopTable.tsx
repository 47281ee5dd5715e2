import { Money } from '../../../components/Money';
import { formatNumber } from '../../../lib/format';
import type { OverviewResponse } from '../api/overview';

type Row = OverviewResponse['top']['users'][number];

/** One top list (users, keys, services or models) by spend, then requests. */
export function TopTable({ caption, rows }: { caption: string; rows: Row[] }) {
  return (
    <table aria-label={caption} className="top-table">
      <caption>{caption}</caption>
      <thead>
        <tr>
          <th scope="col">Name</th>
          <th scope="col">Requests</th>
          <th scope="col">Errors</th>
          <th scope="col">Spend</th>
        </tr>
      </thead>
      <tbody>
        {rows.length === 0 && (
          <tr>
            <td colSpan={4} className="muted">
              No usage in this range
            </td>
          </tr>
        )}
        {rows.map((r) => (
          <tr key={r.group ?? '(none)'}>
            <td>{r.label ?? <span className="muted">(none)</span>}</td>
            <td>{formatNumber(r.requests)}</td>
            <td>{formatNumber(r.errors)}</td>
            <td>
              <Money micro={r.costMicros} />
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
