import { useState, type FormEvent } from 'react';
import { ApiError } from '../../../lib/api/client';
import { CheckboxField, SelectField, TextField } from '../../../components/Field';
import { ErrorMessage } from '../../../components/ErrorMessage';
import { previewService } from '../api/detect';
import { useCreateEntry, useServiceList, type CreateEntryBody } from '../api/wallet';

/** Add a provider key: the service is detected as you paste (a preview; the API decides), duplicates refused in words. */
export function AddEntryForm({ onDone }: { onDone: () => void }) {
  const services = useServiceList().data?.data ?? [];
  const create = useCreateEntry();
  const [secret, setSecret] = useState('');
  const [service, setService] = useState('');
  const [label, setLabel] = useState('');
  const [tier, setTier] = useState<'free' | 'paid'>('paid');
  const [priority, setPriority] = useState('100');
  const [weight, setWeight] = useState('1');
  const [environment, setEnvironment] = useState('');
  const [withQuota, setWithQuota] = useState(false);
  const [quota, setQuota] = useState({ limit: '', unit: 'requests', period: 'day' });
  const detected = previewService(secret, services);

  const submit = (e: FormEvent) => {
    e.preventDefault();
    const body: CreateEntryBody = {
      secret,
      label,
      tier,
      priority: Number(priority),
      weight: Number(weight),
      ...(service ? { service } : {}),
      ...(environment ? { environment: environment as 'live' | 'test' } : {}),
      ...(withQuota ? { quota: { limit: Number(quota.limit), unit: quota.unit as 'requests', period: quota.period as 'day' } } : {}),
    };
    create.mutate(body, { onSuccess: onDone });
  };
  const duplicate = create.error instanceof ApiError && create.error.status === 409;
  return (
    <form className="panel" onSubmit={submit} aria-label="Add a provider key">
      <h2>Add a provider key</h2>
      <TextField
        label="Secret"
        type="password"
        autoComplete="off"
        spellCheck={false}
        required
        value={secret}
        onChange={(e) => setSecret(e.target.value)}
        hint={secret ? (detected ? `Looks like a ${detected} key.` : 'No service recognised from its format: choose one below.') : 'Paste the provider’s key; it is sealed at once and never shown again.'}
      />
      <div className="form-grid">
        <SelectField label="Service" value={service} onChange={(e) => setService(e.target.value)} options={[{ value: '', label: detected ? `Detect (${detected})` : 'Detect from the key' }, ...services.map((s) => ({ value: s.slug, label: s.name || s.slug }))]} />
        <TextField label="Label" required maxLength={200} value={label} onChange={(e) => setLabel(e.target.value)} />
        <SelectField label="Tier" value={tier} onChange={(e) => setTier(e.target.value as 'free' | 'paid')} options={['paid', 'free']} />
        <TextField label="Priority" type="number" min={0} max={1000000} required value={priority} onChange={(e) => setPriority(e.target.value)} hint="Lower is tried first." />
        <TextField label="Weight" type="number" min={1} max={1000} required value={weight} onChange={(e) => setWeight(e.target.value)} />
        <SelectField label="Environment" value={environment} onChange={(e) => setEnvironment(e.target.value)} options={[{ value: '', label: 'From the key (live unless a test key)' }, 'live', 'test']} />
      </div>
      <CheckboxField label="Limit this key with a quota" checked={withQuota} onChange={(e) => setWithQuota(e.target.checked)} />
      {withQuota && (
        <div className="form-grid">
          <TextField label="Quota limit" type="number" min={0} step="any" required value={quota.limit} onChange={(e) => setQuota({ ...quota, limit: e.target.value })} />
          <SelectField label="Quota unit" value={quota.unit} onChange={(e) => setQuota({ ...quota, unit: e.target.value })} options={['requests', 'tokens', 'credits']} />
          <SelectField label="Quota period" value={quota.period} onChange={(e) => setQuota({ ...quota, period: e.target.value })} options={['minute', 'hour', 'day', 'month']} />
        </div>
      )}
      {duplicate && (
        <p role="alert" className="error">
          This key is already in the wallet (the gateway recognised its fingerprint); nothing was added.
        </p>
      )}
      <ErrorMessage error={create.error} />
      <div className="actions">
        <button type="submit" disabled={create.isPending}>
          Add key
        </button>
        <button type="button" className="secondary" onClick={onDone}>
          Cancel
        </button>
      </div>
    </form>
  );
}
