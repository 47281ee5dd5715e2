import { useState, type FormEvent } from 'react';
import { CheckboxField, SelectField, TextField } from '../../../components/Field';
import { ErrorMessage } from '../../../components/ErrorMessage';
import { ALERT_EVENTS, TEAM_EVENTS, useCreateWebhook, useTeamOptions, type Webhook } from '../api/webhooks';

/** Add a webhook: its URL, the alerts it receives, and whose (the organisation's, admins only, or a team's). */
export function WebhookForm({ isAdmin, onCreated, onCancel }: { isAdmin: boolean; onCreated: (w: Webhook & { secret: string }) => void; onCancel: () => void }) {
  const create = useCreateWebhook();
  const teams = useTeamOptions().data?.data ?? [];
  const [url, setUrl] = useState('');
  const [description, setDescription] = useState('');
  const [teamId, setTeamId] = useState(isAdmin ? '' : '');
  const [events, setEvents] = useState<string[]>([...ALERT_EVENTS]);
  const [allowPrivate, setAllowPrivate] = useState(false);
  const allowed = teamId ? TEAM_EVENTS : ALERT_EVENTS;
  const submit = (e: FormEvent) => {
    e.preventDefault();
    create.mutate(
      {
        url: url.trim(),
        events: events.filter((x) => allowed.includes(x)) as never,
        teamId: teamId || null,
        ...(description.trim() ? { description: description.trim() } : {}),
        ...(isAdmin ? { allowPrivate } : {}),
      },
      { onSuccess: onCreated },
    );
  };
  const teamOptions = [...(isAdmin ? [{ value: '', label: 'The organisation (every alert)' }] : [{ value: '', label: 'Choose your team' }]), ...teams.map((t) => ({ value: t.id, label: `Team ${t.name} (budget alerts)` }))];
  return (
    <form className="panel" onSubmit={submit} aria-label="Add a webhook">
      <h2>Add a webhook</h2>
      <div className="form-grid">
        <TextField label="URL" type="url" required value={url} onChange={(e) => setUrl(e.target.value)} hint="Alerts are POSTed here, signed (X-Keywallet-Signature)." />
        <TextField label="Description" maxLength={200} value={description} onChange={(e) => setDescription(e.target.value)} />
        <SelectField label="For" value={teamId} onChange={(e) => setTeamId(e.target.value)} options={teamOptions} />
      </div>
      <fieldset>
        <legend>Alerts to receive</legend>
        {ALERT_EVENTS.map((ev) => (
          <CheckboxField
            key={ev}
            label={ev}
            disabled={!allowed.includes(ev)}
            checked={allowed.includes(ev) && events.includes(ev)}
            onChange={(e) => setEvents(e.target.checked ? [...events, ev] : events.filter((x) => x !== ev))}
          />
        ))}
      </fieldset>
      {isAdmin && <CheckboxField label="Allow a private or loopback address" checked={allowPrivate} onChange={(e) => setAllowPrivate(e.target.checked)} />}
      <ErrorMessage error={create.error} />
      <div className="actions">
        <button type="submit" disabled={create.isPending}>
          Add webhook
        </button>
        <button type="button" className="secondary" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}
