import { useState, type FormEvent } from 'react';
import { SelectField, TextField } from '../../../components/Field';
import { ErrorMessage } from '../../../components/ErrorMessage';
import { useCreateUser, usePlanIds, type CreateUserBody } from '../api/users';

export function CreateUserForm({ onDone }: { onDone: () => void }) {
  const create = useCreateUser();
  const plans = usePlanIds().data?.data ?? [];
  const [f, setF] = useState({ email: '', password: '', role: 'developer', plan: '' });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    const body: CreateUserBody = { email: f.email, password: f.password, role: f.role as 'developer', ...(f.plan ? { plan: f.plan } : {}) };
    create.mutate(body, { onSuccess: onDone });
  };
  return (
    <form className="panel" onSubmit={submit} aria-label="Create a user">
      <h2>Create a user</h2>
      <div className="form-grid">
        <TextField label="Email" type="email" required value={f.email} onChange={(e) => setF({ ...f, email: e.target.value })} />
        <TextField label="Initial password" type="password" autoComplete="new-password" required minLength={12} value={f.password} onChange={(e) => setF({ ...f, password: e.target.value })} hint="At least 12 characters; tell the user." />
        <SelectField label="Role" value={f.role} onChange={(e) => setF({ ...f, role: e.target.value })} options={['developer', 'analyst', 'admin']} />
        <SelectField label="Plan" value={f.plan} onChange={(e) => setF({ ...f, plan: e.target.value })} options={[{ value: '', label: 'Role default' }, ...plans.map((p) => ({ value: p.id, label: p.name || p.id }))]} />
      </div>
      <ErrorMessage error={create.error} />
      <div className="actions">
        <button type="submit" disabled={create.isPending}>
          Create user
        </button>
        <button type="button" className="secondary" onClick={onDone}>
          Cancel
        </button>
      </div>
    </form>
  );
}
