import { DateTime } from '../../../components/DateTime';
import { QuotaBar } from '../../../components/QuotaBar';
import { formatMicroDollars } from '../../../lib/format';
import { useDeleteEntry, useUpdateEntry, useWalletEntry, type WalletEntry } from '../api/wallet';

function Quota({ entry }: { entry: WalletEntry }) {
  const detail = useWalletEntry(entry.id, entry.quota !== null);
  const q = detail.data?.quota ?? entry.quota;
  if (!q) return <span className="muted">none</span>;
  if (q.used === undefined) return <span>{q.limit} {q.unit} / {q.period}</span>;
  if (q.unit === 'credits') {
    // credits are dollars: shown through the one money formatter
    return <span>{formatMicroDollars(Math.round(q.used * 1e6))} of {formatMicroDollars(Math.round(q.limit * 1e6))} this {q.period}</span>;
  }
  return <QuotaBar used={q.used} limit={q.limit} unit={q.unit} period={q.period} />;
}

export function EntryRow({ entry, onEdit }: { entry: WalletEntry; onEdit: () => void }) {
  const update = useUpdateEntry();
  const remove = useDeleteEntry();
  const setStatus = (status: 'active' | 'disabled') => update.mutate({ id: entry.id, body: { status } });
  return (
    <tr>
      <td>
        <strong>{entry.label}</strong>
        <div className="mono small">{entry.secretHint}</div>
      </td>
      <td>{entry.service}</td>
      <td>
        {entry.tier}
        {entry.environment === 'test' ? ' (test)' : ''}
      </td>
      <td>{entry.priority}</td>
      <td>{entry.weight}</td>
      <td>
        <Quota entry={entry} />
      </td>
      <td>
        <span className={`badge ${entry.status}`}>{entry.status}</span>
        {entry.statusReason && <div className="small muted">{entry.statusReason}</div>}
      </td>
      <td>
        <DateTime value={entry.lastUsedAt} />
      </td>
      <td>v{entry.keyVersion}</td>
      <td>
        <div className="actions">
          <button type="button" className="secondary" onClick={onEdit} aria-label={`Edit ${entry.label}`}>
            Edit
          </button>
          {entry.status === 'active' ? (
            <button type="button" className="secondary" onClick={() => setStatus('disabled')} aria-label={`Disable ${entry.label}`}>
              Disable
            </button>
          ) : (
            <button type="button" className="secondary" onClick={() => setStatus('active')} aria-label={`${entry.status === 'invalid' ? 'Re-enable' : 'Enable'} ${entry.label}`}>
              {entry.status === 'invalid' ? 'Re-enable' : 'Enable'}
            </button>
          )}
          <button
            type="button"
            className="danger"
            aria-label={`Delete ${entry.label}`}
            onClick={() => window.confirm(`Delete the provider key “${entry.label}”? Requests stop using it at once.`) && remove.mutate(entry.id)}
          >
            Delete
          </button>
        </div>
        {(update.error || remove.error) && (
          <p role="alert" className="error small">
            {(update.error ?? remove.error)!.message}
          </p>
        )}
      </td>
    </tr>
  );
}
