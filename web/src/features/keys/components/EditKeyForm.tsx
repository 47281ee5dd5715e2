import { useState, type FormEvent } from 'react';
import { CheckboxField, TextArea, TextField } from '../../../components/Field';
import { ErrorMessage } from '../../../components/ErrorMessage';
import { formatDate } from '../../../lib/format';
import { SCOPES, useUpdateKey, type GatewayKey, type KeyLocks, type UpdateKeyBody } from '../api/keys';

const LIMITS = [
  ['rpm', 'Requests per minute'],
  ['rph', 'Requests per hour'],
  ['rpd', 'Requests per day'],
  ['tpm', 'Tokens per minute'],
] as const;
type LimitName = (typeof LIMITS)[number][0];

export interface KeyFormState {
  name: string;
  scopes: string[];
  services: string;
  models: string;
  ips: string;
  referrers: string;
  /** datetime-local value, in the user's time zone */
  expiresAt: string;
  credits: string;
  limits: Record<LimitName, string>;
}

const list = (text: string) =>
  text
    .split(/[\s,]+/)
    .map((s) => s.trim())
    .filter(Boolean);
const same = (a: readonly string[] | null, b: readonly string[] | null) => JSON.stringify(a ?? []) === JSON.stringify(b ?? []);
const pad = (n: number) => String(n).padStart(2, '0');

/** An ISO instant as a datetime-local value in the user's time zone ('' for none). */
export function toLocalInput(iso: string | null | undefined): string {
  if (!iso) return '';
  const d = new Date(iso);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

export function formStateOf(k: GatewayKey): KeyFormState {
  return {
    name: k.name,
    scopes: [...k.scopes],
    services: (k.services ?? []).join(', '),
    models: (k.models ?? []).join(', '),
    ips: (k.allowedIps ?? []).join('\n'),
    referrers: (k.allowedReferrers ?? []).join('\n'),
    expiresAt: toLocalInput(k.expiresAt),
    credits: k.monthlyCredits === null ? '' : String(k.monthlyCredits),
    limits: Object.fromEntries(LIMITS.map(([n]) => [n, k.limits?.[n] == null ? '' : String(k.limits[n])])) as Record<LimitName, string>,
  };
}

/**
 * The PATCH body for what the form changed, and nothing else (an untouched field is not sent, so an owner's
 * edit of the name never trips over an admin's lock). An emptied list, expiry or credit clears it (null).
 */
export function keyChanges(k: GatewayKey, f: KeyFormState): UpdateKeyBody {
  const body: UpdateKeyBody = {};
  if (f.name.trim() !== k.name) body.name = f.name.trim();
  if (!same([...f.scopes].sort(), [...k.scopes].sort())) body.scopes = f.scopes as UpdateKeyBody['scopes'];
  const lists = [
    ['services', list(f.services), k.services],
    ['models', list(f.models), k.models],
    ['allowedIps', list(f.ips), k.allowedIps],
    ['allowedReferrers', list(f.referrers), k.allowedReferrers],
  ] as const;
  for (const [field, value, before] of lists) if (!same(value, before)) body[field] = value.length ? value : null;
  if (f.expiresAt !== toLocalInput(k.expiresAt)) body.expiresAt = f.expiresAt ? new Date(f.expiresAt).toISOString() : null;
  const credits = f.credits.trim() === '' ? null : Number(f.credits);
  if (credits !== k.monthlyCredits) body.monthlyCredits = credits;
  const limits = Object.fromEntries(LIMITS.map(([n]) => [n, f.limits[n].trim() === '' ? null : Number(f.limits[n])])) as Record<LimitName, number | null>;
  if (LIMITS.some(([n]) => limits[n] !== (k.limits?.[n] ?? null))) body.limits = LIMITS.every(([n]) => limits[n] === null) ? null : limits;
  return body;
}

/** What the lock on a field allows its owner, in words ('' when the field is not locked). */
export function lockNote(locks: KeyLocks | null | undefined, field: keyof KeyLocks | LimitName): string {
  if (!locks) return '';
  const v = (field in locks ? locks[field as keyof KeyLocks] : locks.limits?.[field as LimitName]) as unknown;
  if (v === undefined || v === null) return '';
  if (Array.isArray(v)) return `Locked by an administrator: only within ${v.join(', ')}`;
  if (field === 'expiresAt') return `Locked by an administrator: no later than ${formatDate(String(v)).text}`;
  if (field === 'monthlyCredits') return `Locked by an administrator: at most $${v}`;
  return `Locked by an administrator: at most ${v}`;
}

/**
 * A key's name, scopes, restrictions and limits. Admins change anything (what they set becomes locked for the
 * owner); an owner sees each admin-locked field marked as such, with what they may still do (narrow it), and the
 * controls refuse to widen what they can express (scopes outside the lock, a limit above it). The API enforces it.
 */
export function KeyRestrictionsForm({
  k,
  isAdmin,
  pending,
  error,
  onSubmit,
  onCancel,
}: {
  k: GatewayKey;
  isAdmin: boolean;
  pending?: boolean;
  error?: unknown;
  onSubmit: (body: UpdateKeyBody) => void;
  onCancel: () => void;
}) {
  const [f, setF] = useState<KeyFormState>(() => formStateOf(k));
  const [nothing, setNothing] = useState(false);
  const locks = isAdmin ? null : k.lockedByAdmin;
  const set = (field: Exclude<keyof KeyFormState, 'scopes' | 'limits'>) => (e: { target: { value: string } }) => setF({ ...f, [field]: e.target.value });
  const hint = (field: keyof KeyLocks | LimitName, other?: string) => lockNote(locks, field) || other;
  const submit = (e: FormEvent) => {
    e.preventDefault();
    const body = keyChanges(k, f);
    setNothing(Object.keys(body).length === 0);
    if (Object.keys(body).length) onSubmit(body);
  };
  const lockedScopes = locks?.scopes;
  const lockedFields = isAdmin ? Object.keys(k.lockedByAdmin ?? {}).sort() : [];
  return (
    <form className="panel" onSubmit={submit} aria-label={`Edit ${k.name}`}>
      <h2>Edit {k.name}</h2>
      {isAdmin ? (
        <p className="small muted">
          What you set here is locked for the key’s owner, who may only narrow it.
          {lockedFields.length > 0 && ` Locked now: ${lockedFields.join(', ')}.`}
        </p>
      ) : (
        locks && <p className="small">Fields marked “Locked by an administrator” can only be narrowed, not widened or removed.</p>
      )}
      <div className="form-grid">
        <TextField label="Name" required maxLength={100} value={f.name} onChange={set('name')} />
      </div>
      <fieldset>
        <legend>Scopes{lockedScopes ? ' (locked by an administrator)' : ''}</legend>
        {SCOPES.map((s) => (
          <CheckboxField
            key={s}
            label={s}
            checked={f.scopes.includes(s)}
            disabled={Boolean(lockedScopes && !lockedScopes.includes(s))}
            onChange={(e) => setF({ ...f, scopes: e.target.checked ? [...f.scopes, s] : f.scopes.filter((x) => x !== s) })}
          />
        ))}
      </fieldset>
      <div className="form-grid">
        <TextField label="Services" value={f.services} onChange={set('services')} hint={hint('services', 'Slugs, comma-separated; empty = any.')} />
        <TextField label="Models" value={f.models} onChange={set('models')} hint={hint('models', 'Aliases or service/model, comma-separated; empty = any.')} />
        <TextField
          label="Expires at"
          type="datetime-local"
          value={f.expiresAt}
          max={locks?.expiresAt ? toLocalInput(locks.expiresAt) : undefined}
          onChange={set('expiresAt')}
          hint={hint('expiresAt', 'In your time zone; empty = never.')}
        />
        <TextField
          label="Monthly credits (USD)"
          type="number"
          min={0}
          step="0.000001"
          max={locks?.monthlyCredits}
          value={f.credits}
          onChange={set('credits')}
          hint={hint('monthlyCredits', 'Empty = the plan’s.')}
        />
        {LIMITS.map(([n, label]) => (
          <TextField
            key={n}
            label={label}
            type="number"
            min={1}
            max={locks?.limits?.[n]}
            value={f.limits[n]}
            onChange={(e) => setF({ ...f, limits: { ...f.limits, [n]: e.target.value } })}
            hint={hint(n)}
          />
        ))}
      </div>
      <TextArea label="Allowed IPs (CIDR, one per line)" value={f.ips} onChange={set('ips')} hint={hint('allowedIps', 'Empty = any address.')} />
      <TextArea label="Allowed referrers (one per line)" value={f.referrers} onChange={set('referrers')} hint={hint('allowedReferrers', 'e.g. https://app.example.com or *.example.com')} />
      {nothing && (
        <p role="status" className="muted">
          Nothing changed.
        </p>
      )}
      <ErrorMessage error={error} />
      <div className="actions">
        <button type="submit" disabled={pending}>
          Save changes
        </button>
        <button type="button" className="secondary" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}

/** The edit form wired to PATCH /api-keys/:id. */
export function EditKeyForm({ k, isAdmin, onDone }: { k: GatewayKey; isAdmin: boolean; onDone: () => void }) {
  const update = useUpdateKey();
  return <KeyRestrictionsForm k={k} isAdmin={isAdmin} pending={update.isPending} error={update.error} onCancel={onDone} onSubmit={(body) => update.mutate({ id: k.id, body }, { onSuccess: onDone })} />;
}
