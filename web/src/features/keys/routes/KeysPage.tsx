import { Fragment, useState } from 'react';
import { Page, Loading } from '../../../components/Page';
import { ErrorMessage } from '../../../components/ErrorMessage';
import { DateTime } from '../../../components/DateTime';
import { Money } from '../../../components/Money';
import { SelectField } from '../../../components/Field';
import { useSession } from '../../../lib/session';
import { dollarsToMicro } from '../../../lib/format';
import { useKeys, useUserOptions, type IssuedKey, type KeyFilters } from '../api/keys';
import { CreateKeyForm } from '../components/CreateKeyForm';
import { SecretOnce } from '../components/SecretOnce';
import { KeyActions } from '../components/KeyActions';
import { KeyUsagePanel } from '../components/KeyUsagePanel';
import { EditKeyForm } from '../components/EditKeyForm';

const PAGE = 50;

export default function KeysPage() {
  const isAdmin = useSession().data?.user.role === 'admin';
  const [filters, setFilters] = useState<KeyFilters>({ limit: PAGE, offset: 0 });
  const [creating, setCreating] = useState(false);
  const [issued, setIssued] = useState<IssuedKey | null>(null);
  const [usageOf, setUsageOf] = useState<string | null>(null);
  const [editing, setEditing] = useState<string | null>(null);
  const keys = useKeys(filters);
  const users = useUserOptions(isAdmin).data?.data ?? [];
  const owner = (id: string) => users.find((u) => u.id === id)?.email ?? id.slice(0, 8);
  const set = (k: keyof KeyFilters, v: string) => setFilters((f) => ({ ...f, offset: 0, [k]: v || undefined }));
  const total = keys.data?.total ?? 0;
  return (
    <Page
      title={isAdmin ? 'Gateway keys' : 'My keys'}
      actions={
        <button type="button" onClick={() => (setCreating(true), setIssued(null))}>
          Create a key
        </button>
      }
    >
      {issued && <SecretOnce issued={issued} onClose={() => setIssued(null)} />}
      {creating && <CreateKeyForm isAdmin={isAdmin} onCancel={() => setCreating(false)} onCreated={(k) => (setCreating(false), setIssued(k))} />}
      <div className="toolbar" role="search" aria-label="Filter keys">
        {isAdmin && <SelectField label="Owner" value={filters.userId ?? ''} onChange={(e) => set('userId', e.target.value)} options={[{ value: '', label: 'Everyone' }, ...users.map((u) => ({ value: u.id, label: u.email }))]} />}
        <SelectField label="Status" value={filters.status ?? ''} onChange={(e) => set('status', e.target.value)} options={['', 'active', 'revoked', 'expired']} />
        <SelectField label="Environment" value={filters.environment ?? ''} onChange={(e) => set('environment', e.target.value)} options={['', 'live', 'test']} />
      </div>
      {keys.isPending && <Loading />}
      <ErrorMessage error={keys.error} />
      {keys.data && keys.data.data.length === 0 && <p>No keys yet.</p>}
      {keys.data && keys.data.data.length > 0 && (
        <table aria-label="Gateway keys">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Key</th>
              {isAdmin && <th scope="col">Owner</th>}
              <th scope="col">Scopes</th>
              <th scope="col">Monthly credits</th>
              <th scope="col">Status</th>
              <th scope="col">Expires</th>
              <th scope="col">Last used</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {keys.data.data.map((k) => (
              <Fragment key={k.id}>
              <tr>
                <td>
                  {k.name}
                  {k.environment === 'test' && <span className="badge"> test</span>}
                </td>
                <td className="mono">{k.maskedKey}</td>
                {isAdmin && <td>{owner(k.userId)}</td>}
                <td>{k.scopes.join(', ')}</td>
                <td>{k.monthlyCredits === null ? 'plan default' : <Money micro={dollarsToMicro(k.monthlyCredits)} />}</td>
                <td>
                  <span className={`badge ${k.status}`}>{k.status}</span>
                  {k.revokedReason && <div className="small muted">{k.revokedReason}</div>}
                </td>
                <td>
                  <DateTime value={k.expiresAt} />
                </td>
                <td>
                  <DateTime value={k.lastUsedAt} />
                </td>
                <td>
                  <button type="button" className="secondary" aria-expanded={usageOf === k.id} aria-label={`Usage of ${k.name}`} onClick={() => setUsageOf(usageOf === k.id ? null : k.id)}>
                    Usage
                  </button>
                  {k.status === 'active' && (
                    <button type="button" className="secondary" aria-expanded={editing === k.id} aria-label={`Edit ${k.name}`} onClick={() => setEditing(editing === k.id ? null : k.id)}>
                      Edit
                    </button>
                  )}
                  <KeyActions k={k} onRotated={setIssued} />
                </td>
              </tr>
              {editing === k.id && (
                <tr>
                  <td colSpan={isAdmin ? 9 : 8}>
                    <EditKeyForm k={k} isAdmin={isAdmin} onDone={() => setEditing(null)} />
                  </td>
                </tr>
              )}
              {usageOf === k.id && (
                <tr>
                  <td colSpan={isAdmin ? 9 : 8}>
                    <KeyUsagePanel k={k} />
                  </td>
                </tr>
              )}
              </Fragment>
            ))}
          </tbody>
        </table>
      )}
      {total > PAGE && (
        <nav aria-label="Pages" className="actions">
          <button type="button" className="secondary" disabled={!filters.offset} onClick={() => setFilters((f) => ({ ...f, offset: Math.max(0, (f.offset ?? 0) - PAGE) }))}>
            Previous
          </button>
          <span>
            {(filters.offset ?? 0) + 1}–{Math.min(total, (filters.offset ?? 0) + PAGE)} of {total}
          </span>
          <button type="button" className="secondary" disabled={(filters.offset ?? 0) + PAGE >= total} onClick={() => setFilters((f) => ({ ...f, offset: (f.offset ?? 0) + PAGE }))}>
            Next
          </button>
        </nav>
      )}
    </Page>
  );
}
