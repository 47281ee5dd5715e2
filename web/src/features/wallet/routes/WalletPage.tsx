import { Fragment, useState } from 'react';
import { Page, Loading } from '../../../components/Page';
import { ErrorMessage } from '../../../components/ErrorMessage';
import { SelectField } from '../../../components/Field';
import { AddEntryForm } from '../components/AddEntryForm';
import { ImportPanel } from '../components/ImportPanel';
import { EditEntryForm } from '../components/EditEntryForm';
import { EntryRow } from '../components/EntryRow';
import { useServiceList, useWalletEntries, type WalletFilters } from '../api/wallet';

export default function WalletPage() {
  const [filters, setFilters] = useState<WalletFilters>({});
  const [panel, setPanel] = useState<'none' | 'add' | 'import'>('none');
  const [editing, setEditing] = useState<string | null>(null);
  const entries = useWalletEntries(filters);
  const services = useServiceList().data?.data ?? [];
  const set = (k: keyof WalletFilters, v: string) => setFilters((f) => ({ ...f, [k]: v || undefined }));
  return (
    <Page
      title="Wallet"
      actions={
        <div className="actions">
          <button type="button" onClick={() => setPanel('add')}>
            Add a key
          </button>
          <button type="button" className="secondary" onClick={() => setPanel('import')}>
            Import keys
          </button>
        </div>
      }
    >
      {panel === 'add' && <AddEntryForm onDone={() => setPanel('none')} />}
      {panel === 'import' && <ImportPanel onDone={() => setPanel('none')} />}
      <div className="toolbar" role="search" aria-label="Filter provider keys">
        <SelectField label="Service" value={filters.service ?? ''} onChange={(e) => set('service', e.target.value)} options={['', ...services.map((s) => s.slug)]} />
        <SelectField label="Tier" value={filters.tier ?? ''} onChange={(e) => set('tier', e.target.value)} options={['', 'free', 'paid']} />
        <SelectField label="Status" value={filters.status ?? ''} onChange={(e) => set('status', e.target.value)} options={['', 'active', 'disabled', 'invalid']} />
      </div>
      {entries.isPending && <Loading />}
      <ErrorMessage error={entries.error} />
      {entries.data && entries.data.data.length === 0 && <p>No provider keys match. Add one, or import a file.</p>}
      {entries.data && entries.data.data.length > 0 && (
        <table aria-label="Provider keys">
          <thead>
            <tr>
              <th scope="col">Key</th>
              <th scope="col">Service</th>
              <th scope="col">Tier</th>
              <th scope="col">Priority</th>
              <th scope="col">Weight</th>
              <th scope="col">Quota</th>
              <th scope="col">Status</th>
              <th scope="col">Last used</th>
              <th scope="col">Master key</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {entries.data.data.map((entry) => (
              <Fragment key={entry.id}>
                <EntryRow entry={entry} onEdit={() => setEditing(editing === entry.id ? null : entry.id)} />
                {editing === entry.id && (
                  <tr>
                    <td colSpan={10}>
                      <EditEntryForm entry={entry} onDone={() => setEditing(null)} />
                    </td>
                  </tr>
                )}
              </Fragment>
            ))}
          </tbody>
        </table>
      )}
    </Page>
  );
}
