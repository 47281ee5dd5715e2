import { useState, type FormEvent } from 'react';
import { SelectField, TextField } from '../../../components/Field';
import { ErrorMessage } from '../../../components/ErrorMessage';
import { useReplaceSecret, useUpdateEntry, type WalletEntry } from '../api/wallet';

/** Edit an entry's routing fields, or replace its secret (which re-activates an invalid entry). */
export function EditEntryForm({ entry, onDone }: { entry: WalletEntry; onDone: () => void }) {
  const update = useUpdateEntry();
  const replace = useReplaceSecret();
  const [label, setLabel] = useState(entry.label);
  const [tier, setTier] = useState(entry.tier);
  const [priority, setPriority] = useState(String(entry.priority));
  const [weight, setWeight] = useState(String(entry.weight));
  const [secret, setSecret] = useState('');

  const submit = (e: FormEvent) => {
    e.preventDefault();
    update.mutate({ id: entry.id, body: { label, tier, priority: Number(priority), weight: Number(weight) } }, { onSuccess: onDone });
  };
  return (
    <div className="panel">
      <form onSubmit={submit} aria-label={`Edit ${entry.label}`}>
        <h3>Edit {entry.label}</h3>
        <div className="form-grid">
          <TextField label="Label" required value={label} onChange={(e) => setLabel(e.target.value)} />
          <SelectField label="Tier" value={tier} onChange={(e) => setTier(e.target.value as 'free' | 'paid')} options={['paid', 'free']} />
          <TextField label="Priority" type="number" min={0} required value={priority} onChange={(e) => setPriority(e.target.value)} />
          <TextField label="Weight" type="number" min={1} max={1000} required value={weight} onChange={(e) => setWeight(e.target.value)} />
        </div>
        <ErrorMessage error={update.error} />
        <div className="actions">
          <button type="submit" disabled={update.isPending}>
            Save
          </button>
          <button type="button" className="secondary" onClick={onDone}>
            Cancel
          </button>
        </div>
      </form>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          replace.mutate({ id: entry.id, secret }, { onSuccess: onDone });
        }}
        aria-label={`Replace the secret of ${entry.label}`}
      >
        <TextField label="New secret" type="password" autoComplete="off" required value={secret} onChange={(e) => setSecret(e.target.value)} hint="Same entry, new key: an invalid entry becomes active again." />
        <ErrorMessage error={replace.error} />
        <button type="submit" className="secondary" disabled={replace.isPending}>
          Replace secret
        </button>
      </form>
    </div>
  );
}
