import { useState, type FormEvent } from 'react';
import { CheckboxField, SelectField, TextArea, TextField } from '../../../components/Field';
import { ErrorMessage } from '../../../components/ErrorMessage';
import { SCOPES, useCreateKey, useUserOptions, type CreateKeyBody, type IssuedKey } from '../api/keys';

const list = (text: string) =>
  text
    .split(/[\s,]+/)
    .map((s) => s.trim())
    .filter(Boolean);
const optionalList = (text: string) => (list(text).length ? list(text) : undefined);
const optionalInt = (text: string) => (text.trim() ? Number(text) : undefined);

/** Create a gateway key with its restrictions (the API validates each: CIDRs, referrer patterns, limits). */
export function CreateKeyForm({ isAdmin, onCreated, onCancel }: { isAdmin: boolean; onCreated: (key: IssuedKey) => void; onCancel: () => void }) {
  const create = useCreateKey();
  const users = useUserOptions(isAdmin).data?.data ?? [];
  const [f, setF] = useState({ name: '', environment: 'live', userId: '', services: '', models: '', ips: '', referrers: '', expiresAt: '', rpm: '', rph: '', rpd: '', tpm: '', credits: '' });
  const [scopes, setScopes] = useState<string[]>(['chat', 'models']);
  const set = (k: keyof typeof f) => (e: { target: { value: string } }) => setF({ ...f, [k]: e.target.value });

  const submit = (e: FormEvent) => {
    e.preventDefault();
    const limits = { rpm: optionalInt(f.rpm), rph: optionalInt(f.rph), rpd: optionalInt(f.rpd), tpm: optionalInt(f.tpm) };
    const body: CreateKeyBody = {
      name: f.name,
      environment: f.environment as 'live' | 'test',
      scopes: scopes as CreateKeyBody['scopes'],
      ...(f.userId ? { userId: f.userId } : {}),
      ...(optionalList(f.services) ? { services: optionalList(f.services) } : {}),
      ...(optionalList(f.models) ? { models: optionalList(f.models) } : {}),
      ...(optionalList(f.ips) ? { allowedIps: optionalList(f.ips) } : {}),
      ...(optionalList(f.referrers) ? { allowedReferrers: optionalList(f.referrers) } : {}),
      ...(f.expiresAt ? { expiresAt: new Date(f.expiresAt).toISOString() } : {}),
      ...(Object.values(limits).some((v) => v !== undefined) ? { limits } : {}),
      ...(f.credits.trim() ? { monthlyCredits: Number(f.credits) } : {}),
    };
    create.mutate(body, { onSuccess: onCreated });
  };
  return (
    <form className="panel" onSubmit={submit} aria-label="Create a gateway key">
      <h2>Create a gateway key</h2>
      <div className="form-grid">
        <TextField label="Name" required maxLength={100} value={f.name} onChange={set('name')} />
        <SelectField label="Environment" value={f.environment} onChange={set('environment')} options={['live', 'test']} />
        {isAdmin && <SelectField label="Owner" value={f.userId} onChange={set('userId')} options={[{ value: '', label: 'Me' }, ...users.map((u) => ({ value: u.id, label: `${u.email} (${u.role})` }))]} />}
      </div>
      <fieldset>
        <legend>Scopes</legend>
        {SCOPES.map((s) => (
          <CheckboxField key={s} label={s} checked={scopes.includes(s)} onChange={(e) => setScopes(e.target.checked ? [...scopes, s] : scopes.filter((x) => x !== s))} />
        ))}
      </fieldset>
      <details>
        <summary>Restrictions and limits (optional)</summary>
        <div className="form-grid">
          <TextField label="Services" value={f.services} onChange={set('services')} hint="Slugs, comma-separated (e.g. openai, anthropic)." />
          <TextField label="Models" value={f.models} onChange={set('models')} hint="Aliases or service/model, comma-separated." />
          <TextField label="Expires at" type="datetime-local" value={f.expiresAt} onChange={set('expiresAt')} hint="In your time zone." />
          <TextField label="Monthly credits (USD)" type="number" min={0} step="0.000001" value={f.credits} onChange={set('credits')} />
          <TextField label="Requests per minute" type="number" min={1} value={f.rpm} onChange={set('rpm')} />
          <TextField label="Requests per hour" type="number" min={1} value={f.rph} onChange={set('rph')} />
          <TextField label="Requests per day" type="number" min={1} value={f.rpd} onChange={set('rpd')} />
          <TextField label="Tokens per minute" type="number" min={1} value={f.tpm} onChange={set('tpm')} />
        </div>
        <TextArea label="Allowed IPs (CIDR, one per line)" value={f.ips} onChange={set('ips')} />
        <TextArea label="Allowed referrers (one per line)" value={f.referrers} onChange={set('referrers')} hint="e.g. https://app.example.com or *.example.com" />
      </details>
      <ErrorMessage error={create.error} />
      <div className="actions">
        <button type="submit" disabled={create.isPending}>
          Create key
        </button>
        <button type="button" className="secondary" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}
