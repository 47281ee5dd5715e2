import { useState, type FormEvent } from 'react';
import { Page, Loading } from '../../../components/Page';
import { ErrorMessage } from '../../../components/ErrorMessage';
import { DateTime } from '../../../components/DateTime';
import { TextField } from '../../../components/Field';
import { useAudit, useVerifyChain, type AuditFilters } from '../api/audit';

const PAGE = 50;

export default function AuditPage() {
  const [draft, setDraft] = useState({ action: '', targetType: '', targetId: '', from: '', to: '' });
  const [filters, setFilters] = useState<AuditFilters>({ limit: PAGE, offset: 0 });
  const rows = useAudit(filters);
  const verify = useVerifyChain();
  const apply = (e: FormEvent) => {
    e.preventDefault();
    const pick = Object.fromEntries(Object.entries(draft).filter(([, v]) => v.trim()));
    setFilters({ ...pick, limit: PAGE, offset: 0 });
  };
  const total = rows.data?.total ?? 0;
  const offset = filters.offset ?? 0;
  return (
    <Page
      title="Audit log"
      actions={
        <button type="button" className="secondary" onClick={() => verify.mutate()} disabled={verify.isPending}>
          Verify chain
        </button>
      }
    >
      {verify.isPending && <Loading what="Walking the hash chain" />}
      <ErrorMessage error={verify.error} />
      {verify.data && (
        <p role="status" className={verify.data.ok ? 'ok' : 'error'}>
          {verify.data.ok
            ? `The chain is intact: ${verify.data.checked} rows checked.`
            : `The chain is broken at row ${verify.data.firstBrokenId}: ${verify.data.reason} (${verify.data.checked} rows checked).`}
        </p>
      )}
      <form className="toolbar" onSubmit={apply} aria-label="Filter the audit log">
        <TextField label="Action" value={draft.action} onChange={(e) => setDraft({ ...draft, action: e.target.value })} hint="e.g. api_key. for every key action" />
        <TextField label="Target type" value={draft.targetType} onChange={(e) => setDraft({ ...draft, targetType: e.target.value })} />
        <TextField label="Target id" value={draft.targetId} onChange={(e) => setDraft({ ...draft, targetId: e.target.value })} />
        <TextField label="From (date)" type="date" value={draft.from} onChange={(e) => setDraft({ ...draft, from: e.target.value })} />
        <TextField label="To (date)" type="date" value={draft.to} onChange={(e) => setDraft({ ...draft, to: e.target.value })} />
        <button type="submit">Apply filters</button>
      </form>
      {rows.isPending && <Loading />}
      <ErrorMessage error={rows.error} />
      {rows.data && (
        <table aria-label="Audit entries">
          <thead>
            <tr>
              <th scope="col">#</th>
              <th scope="col">When</th>
              <th scope="col">Action</th>
              <th scope="col">Actor</th>
              <th scope="col">Target</th>
              <th scope="col">Details</th>
            </tr>
          </thead>
          <tbody>
            {rows.data.data.map((r) => (
              <tr key={r.id}>
                <td>{r.id}</td>
                <td>
                  <DateTime value={r.ts} />
                </td>
                <td className="mono">{r.action}</td>
                <td>
                  {r.actor.type}
                  {r.actor.id ? <div className="mono small">{r.actor.id}</div> : null}
                  {r.ip ? <div className="small muted">{r.ip}</div> : null}
                </td>
                <td>
                  {r.target.type}
                  {r.target.id ? <div className="mono small">{r.target.id}</div> : null}
                </td>
                <td>
                  {r.before || r.after ? (
                    <details>
                      <summary>Before / after</summary>
                      <pre tabIndex={0}>{JSON.stringify({ before: r.before, after: r.after }, null, 2)}</pre>
                    </details>
                  ) : null}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <nav aria-label="Audit pages" className="actions">
        <button type="button" className="secondary" disabled={offset === 0} onClick={() => setFilters({ ...filters, offset: Math.max(0, offset - PAGE) })}>
          Newer
        </button>
        <span>
          {total === 0 ? 'No entries' : `${offset + 1}–${Math.min(total, offset + PAGE)} of ${total}`}
        </span>
        <button type="button" className="secondary" disabled={offset + PAGE >= total} onClick={() => setFilters({ ...filters, offset: offset + PAGE })}>
          Older
        </button>
      </nav>
    </Page>
  );
}
