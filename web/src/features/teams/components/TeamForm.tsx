import { useState, type FormEvent } from 'react';
import { TextField } from '../../../components/Field';
import { ErrorMessage } from '../../../components/ErrorMessage';
import { useCreateTeam, useUpdateTeam, type CreateTeamBody, type Team } from '../api/teams';

const list = (text: string) =>
  text
    .split(/[\s,]+/)
    .map((s) => s.trim())
    .filter(Boolean);
const num = (text: string) => (text.trim() === '' ? null : Number(text));

/** Create a team, or change one (admins): name, slug (create only), ceilings on its keys, monthly budget. */
export function TeamForm({ team, onDone }: { team?: Team; onDone: () => void }) {
  const create = useCreateTeam();
  const update = useUpdateTeam();
  const [f, setF] = useState({
    name: team?.name ?? '',
    slug: team?.slug ?? '',
    budget: team?.monthlyBudget == null ? '' : String(team.monthlyBudget),
    rpm: team?.rpm == null ? '' : String(team.rpm),
    tpm: team?.tpm == null ? '' : String(team.tpm),
    services: (team?.services ?? []).join(', '),
    models: (team?.models ?? []).join(', '),
  });
  const set = (k: keyof typeof f) => (e: { target: { value: string } }) => setF({ ...f, [k]: e.target.value });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    const fields = {
      name: f.name.trim(),
      monthlyBudget: num(f.budget),
      rpm: num(f.rpm),
      tpm: num(f.tpm),
      services: list(f.services).length ? list(f.services) : null,
      models: list(f.models).length ? list(f.models) : null,
    };
    if (team) update.mutate({ id: team.id, body: fields }, { onSuccess: onDone });
    else create.mutate({ ...fields, slug: f.slug.trim() } as CreateTeamBody, { onSuccess: onDone });
  };
  const mutation = team ? update : create;
  const title = team ? `Edit team ${team.name}` : 'Create a team';
  return (
    <form className="panel" onSubmit={submit} aria-label={title}>
      <h2>{title}</h2>
      <div className="form-grid">
        <TextField label="Team name" required maxLength={100} value={f.name} onChange={set('name')} />
        {!team && <TextField label="Slug" required pattern="[a-z0-9][a-z0-9\-]{0,62}" value={f.slug} onChange={set('slug')} hint="Lowercase letters, digits and -." />}
        <TextField label="Budget (USD per period)" type="number" min={0} step="0.000001" value={f.budget} onChange={set('budget')} hint="Empty = none. Period and shares: the team’s Budget view." />
        <TextField label="Requests per minute (each key)" type="number" min={1} value={f.rpm} onChange={set('rpm')} hint="Ceiling on each of the team’s keys; empty = none." />
        <TextField label="Tokens per minute (each key)" type="number" min={1} value={f.tpm} onChange={set('tpm')} hint="Empty = none." />
        <TextField label="Services allowed" value={f.services} onChange={set('services')} hint="Slugs, comma-separated; empty = any." />
        <TextField label="Models allowed" value={f.models} onChange={set('models')} hint="e.g. gpt-4o, openai/gpt-4o*, comma-separated; empty = any." />
      </div>
      <ErrorMessage error={mutation.error} />
      <div className="actions">
        <button type="submit" disabled={mutation.isPending}>
          {team ? 'Save team' : 'Create team'}
        </button>
        <button type="button" className="secondary" onClick={onDone}>
          Cancel
        </button>
      </div>
    </form>
  );
}
