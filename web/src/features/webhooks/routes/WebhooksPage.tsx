import { Fragment, useState } from 'react';
import { Page, Loading } from '../../../components/Page';
import { ErrorMessage } from '../../../components/ErrorMessage';
import { DateTime } from '../../../components/DateTime';
import { CopyButton } from '../../../components/CopyButton';
import { useSession } from '../../../lib/session';
import { useDeleteWebhook, useRotateWebhookSecret, useTeamOptions, useTestWebhook, useUpdateWebhook, useWebhooks, type Webhook } from '../api/webhooks';
import { WebhookForm } from '../components/WebhookForm';
import { Deliveries } from '../components/Deliveries';

/** A signing secret, shown this once (the gateway keeps it sealed and never shows it again). */
function SecretOnce({ secret, onClose }: { secret: string; onClose: () => void }) {
  return (
    <section className="panel" aria-labelledby="webhook-secret-title">
      <h2 id="webhook-secret-title">Signing secret</h2>
      <p className="notice" role="alert">
        Copy it now: this is the only time the gateway shows it. Your receiver checks X-Keywallet-Signature with it.
      </p>
      <p className="secret" aria-label="Webhook signing secret">
        {secret}
      </p>
      <div className="actions">
        <CopyButton value={secret} label="Copy secret" />
        <button type="button" className="secondary" onClick={onClose}>
          I have stored it
        </button>
      </div>
    </section>
  );
}

/**
 * Webhooks for alerts (budget thresholds, wallet events): admins manage every one, a team admin their team's
 * budget-alert webhooks. Send a signed test, read the delivery log, pause, rotate the secret, delete.
 */
export default function WebhooksPage() {
  const isAdmin = useSession().data?.user.role === 'admin';
  const hooks = useWebhooks();
  const teams = useTeamOptions().data?.data ?? [];
  const update = useUpdateWebhook();
  const remove = useDeleteWebhook();
  const rotate = useRotateWebhookSecret();
  const test = useTestWebhook();
  const [adding, setAdding] = useState(false);
  const [secret, setSecret] = useState<string | null>(null);
  const [open, setOpen] = useState<string | null>(null);
  const teamName = (id: string | null) => (id === null ? 'organisation' : `team ${teams.find((t) => t.id === id)?.name ?? id.slice(0, 8)}`);
  const name = (w: Webhook) => w.description ?? w.url;
  return (
    <Page
      title="Webhooks"
      actions={
        <button type="button" onClick={() => (setAdding(true), setSecret(null))}>
          Add a webhook
        </button>
      }
    >
      {secret && <SecretOnce secret={secret} onClose={() => setSecret(null)} />}
      {adding && <WebhookForm isAdmin={isAdmin} onCancel={() => setAdding(false)} onCreated={(w) => (setAdding(false), setSecret(w.secret))} />}
      {hooks.isPending && <Loading />}
      <ErrorMessage error={hooks.error} />
      {hooks.data && hooks.data.data.length === 0 && <p>No webhooks yet.</p>}
      {hooks.data && hooks.data.data.length > 0 && (
        <table aria-label="Webhooks">
          <thead>
            <tr>
              <th scope="col">Webhook</th>
              <th scope="col">For</th>
              <th scope="col">Alerts</th>
              <th scope="col">Status</th>
              <th scope="col">Created</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {hooks.data.data.map((w) => (
              <Fragment key={w.id}>
                <tr>
                  <td>
                    {w.description && <div>{w.description}</div>}
                    <div className="mono small">{w.url}</div>
                  </td>
                  <td>{teamName(w.teamId)}</td>
                  <td className="small">{w.events.join(', ')}</td>
                  <td>
                    <span className={`badge ${w.enabled ? 'active' : 'disabled'}`}>{w.enabled ? 'enabled' : 'paused'}</span>
                  </td>
                  <td>
                    <DateTime value={w.createdAt} />
                  </td>
                  <td>
                    <div className="actions">
                      <button type="button" className="secondary" aria-label={`Send a test to ${name(w)}`} disabled={test.isPending} onClick={() => test.mutate(w.id, { onSuccess: () => setOpen(w.id) })}>
                        Send test
                      </button>
                      <button type="button" className="secondary" aria-expanded={open === w.id} aria-label={`Deliveries of ${name(w)}`} onClick={() => setOpen(open === w.id ? null : w.id)}>
                        Deliveries
                      </button>
                      <button type="button" className="secondary" aria-label={`${w.enabled ? 'Pause' : 'Resume'} ${name(w)}`} onClick={() => update.mutate({ id: w.id, body: { enabled: !w.enabled } })}>
                        {w.enabled ? 'Pause' : 'Resume'}
                      </button>
                      <button type="button" className="secondary" aria-label={`New signing secret for ${name(w)}`} onClick={() => window.confirm('Replace the signing secret? The old one stops signing at once.') && rotate.mutate(w.id, { onSuccess: (r) => setSecret(r.secret) })}>
                        New secret
                      </button>
                      <button type="button" className="danger" aria-label={`Delete ${name(w)}`} onClick={() => window.confirm(`Delete the webhook ${name(w)} and its delivery log?`) && remove.mutate(w.id)}>
                        Delete
                      </button>
                    </div>
                  </td>
                </tr>
                {open === w.id && (
                  <tr>
                    <td colSpan={6}>
                      {test.data && test.variables === w.id && (
                        <p role="status">
                          Test sent: {test.data.status}
                          {test.data.lastStatusCode ? `, the receiver answered ${test.data.lastStatusCode}` : ''}
                          {test.data.lastError ? ` (${test.data.lastError})` : ''}.
                        </p>
                      )}
                      <Deliveries webhook={w} />
                    </td>
                  </tr>
                )}
              </Fragment>
            ))}
          </tbody>
        </table>
      )}
      <ErrorMessage error={update.error ?? remove.error ?? rotate.error ?? test.error} />
    </Page>
  );
}
