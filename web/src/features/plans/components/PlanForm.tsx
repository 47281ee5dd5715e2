import { useState, type FormEvent } from 'react';
import { TextField } from '../../../components/Field';
import { ErrorMessage } from '../../../components/ErrorMessage';
import { useCreatePlan, useUpdatePlan, type Plan } from '../api/plans';

const LIMITS = [
  ['rpm', 'Requests per minute'],
  ['rph', 'Requests per hour'],
  ['rpd', 'Requests per day'],
  ['tpm', 'Tokens per minute'],
] as const;

/** Blank = no limit (sent as null, which lifts it). */
const limitValue = (text: string) => (text.trim() === '' ? null : Number(text));

export function PlanForm({ plan, onDone }: { plan?: Plan; onDone: () => void }) {
  const create = useCreatePlan();
  const update = useUpdatePlan();
  const [f, setF] = useState<Record<string, string>>({
    id: plan?.id ?? '',
    name: plan?.name ?? '',
    rpm: plan?.rpm?.toString() ?? '',
    rph: plan?.rph?.toString() ?? '',
    rpd: plan?.rpd?.toString() ?? '',
    tpm: plan?.tpm?.toString() ?? '',
    monthlyCredits: plan?.monthlyCredits?.toString() ?? '',
    services: plan?.services?.join(', ') ?? '',
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    const services = f.services.split(/[\s,]+/).filter(Boolean);
    const body = {
      name: f.name,
      rpm: limitValue(f.rpm),
      rph: limitValue(f.rph),
      rpd: limitValue(f.rpd),
      tpm: limitValue(f.tpm),
      monthlyCredits: limitValue(f.monthlyCredits),
      services: services.length ? services : null,
    };
    if (plan) update.mutate({ id: plan.id, body: body as never }, { onSuccess: onDone });
    else create.mutate({ id: f.id, ...body } as never, { onSuccess: onDone });
  };
  return (
    <form className="panel" onSubmit={submit} aria-label={plan ? `Edit plan ${plan.id}` : 'Create a plan'}>
      <h2>{plan ? `Edit ${plan.id}` : 'Create a plan'}</h2>
      <div className="form-grid">
        {!plan && <TextField label="Plan id" required value={f.id} onChange={(e) => setF({ ...f, id: e.target.value })} hint="Lowercase letters, digits, - and _." />}
        <TextField label="Name" required value={f.name} onChange={(e) => setF({ ...f, name: e.target.value })} />
        {LIMITS.map(([k, label]) => (
          <TextField key={k} label={label} type="number" min={1} value={f[k]} onChange={(e) => setF({ ...f, [k]: e.target.value })} hint="Blank = no limit." />
        ))}
        <TextField label="Monthly credits (USD)" type="number" min={0} step="0.000001" value={f.monthlyCredits} onChange={(e) => setF({ ...f, monthlyCredits: e.target.value })} hint="Blank = unlimited." />
        <TextField label="Services allowed" value={f.services} onChange={(e) => setF({ ...f, services: e.target.value })} hint="Slugs, comma-separated; blank = all." />
      </div>
      <ErrorMessage error={create.error ?? update.error} />
      <div className="actions">
        <button type="submit">{plan ? 'Save plan' : 'Create plan'}</button>
        <button type="button" className="secondary" onClick={onDone}>
          Cancel
        </button>
      </div>
    </form>
  );
}
