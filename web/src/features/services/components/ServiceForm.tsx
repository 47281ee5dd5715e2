import { useState, type FormEvent } from 'react';
import { CheckboxField, SelectField, TextField } from '../../../components/Field';
import { ErrorMessage } from '../../../components/ErrorMessage';
import { useCreateService, useUpdateService, type CreateServiceBody, type Service } from '../api/services';

/** Create a service, or change one (the slug and kind stay). A private or loopback base URL needs allowPrivate. */
export function ServiceForm({ service, onDone }: { service?: Service; onDone: () => void }) {
  const create = useCreateService();
  const update = useUpdateService();
  const [f, setF] = useState({
    slug: service?.slug ?? '',
    name: service?.name ?? '',
    kind: service?.kind ?? 'rest',
    baseUrl: service?.baseUrl ?? '',
    authType: service?.auth.type ?? 'bearer',
    authName: service?.auth.name ?? '',
    keyPattern: service?.keyPattern ?? '',
    costPerCall: String(service?.costPerCall ?? 0),
    allowPrivate: service?.allowPrivate ?? false,
    enabled: service?.enabled ?? true,
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    const common = {
      name: f.name || undefined,
      baseUrl: f.baseUrl,
      auth: { type: f.authType as 'bearer', ...(f.authName ? { name: f.authName } : {}) },
      ...(f.keyPattern ? { keyPattern: f.keyPattern } : {}),
      costPerCall: Number(f.costPerCall),
      allowPrivate: f.allowPrivate,
      enabled: f.enabled,
    };
    if (service) update.mutate({ slug: service.slug, body: common as never }, { onSuccess: onDone });
    else create.mutate({ slug: f.slug, kind: f.kind as 'rest', ...common } as CreateServiceBody, { onSuccess: onDone });
  };
  const error = create.error ?? update.error;
  return (
    <form className="panel" onSubmit={submit} aria-label={service ? `Edit service ${service.slug}` : 'Add a service'}>
      <h2>{service ? `Edit ${service.slug}` : 'Add a service'}</h2>
      <div className="form-grid">
        {!service && <TextField label="Slug" required value={f.slug} onChange={(e) => setF({ ...f, slug: e.target.value })} />}
        <TextField label="Name" value={f.name} onChange={(e) => setF({ ...f, name: e.target.value })} />
        {!service && <SelectField label="Kind" value={f.kind} onChange={(e) => setF({ ...f, kind: e.target.value as 'rest' })} options={['rest', 'llm']} />}
        <TextField label="Base URL" type="url" required value={f.baseUrl} onChange={(e) => setF({ ...f, baseUrl: e.target.value })} />
        <SelectField label="Credential goes in" value={f.authType} onChange={(e) => setF({ ...f, authType: e.target.value })} options={['bearer', 'header', 'query', 'basic']} />
        <TextField label="Header or query name" value={f.authName} onChange={(e) => setF({ ...f, authName: e.target.value })} />
        <TextField label="Key pattern (regex)" value={f.keyPattern} onChange={(e) => setF({ ...f, keyPattern: e.target.value })} hint="Lets the wallet detect this service from a pasted key." />
        <TextField label="Cost per call (USD)" type="number" min={0} step="0.000001" value={f.costPerCall} onChange={(e) => setF({ ...f, costPerCall: e.target.value })} />
      </div>
      <CheckboxField label="Allow a private or loopback address" checked={f.allowPrivate} onChange={(e) => setF({ ...f, allowPrivate: e.target.checked })} />
      <CheckboxField label="Enabled" checked={f.enabled} onChange={(e) => setF({ ...f, enabled: e.target.checked })} />
      <ErrorMessage error={error} />
      <div className="actions">
        <button type="submit">{service ? 'Save' : 'Add service'}</button>
        <button type="button" className="secondary" onClick={onDone}>
          Cancel
        </button>
      </div>
    </form>
  );
}
