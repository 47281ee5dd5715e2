import { DateTime } from '../../../components/DateTime';
import { ErrorMessage } from '../../../components/ErrorMessage';
import { Loading } from '../../../components/Page';
import { useDeliveries, type Webhook } from '../api/webhooks';

/** A webhook's delivery log, newest first: status, attempts, the receiver's last answer or the error. */
export function Deliveries({ webhook }: { webhook: Webhook }) {
  const deliveries = useDeliveries(webhook.id);
  const name = webhook.description ?? webhook.url;
  return (
    <section aria-label={`Deliveries of ${name}`}>
      <h3>Deliveries</h3>
      {deliveries.isPending && <Loading what="Loading deliveries" />}
      <ErrorMessage error={deliveries.error} />
      {deliveries.data && deliveries.data.data.length === 0 && <p>Nothing sent yet.</p>}
      {deliveries.data && deliveries.data.data.length > 0 && (
        <table aria-label={`Deliveries of ${name}`}>
          <thead>
            <tr>
              <th scope="col">Event</th>
              <th scope="col">Status</th>
              <th scope="col">Attempts</th>
              <th scope="col">Last answer</th>
              <th scope="col">Created</th>
              <th scope="col">Next attempt</th>
            </tr>
          </thead>
          <tbody>
            {deliveries.data.data.map((d) => (
              <tr key={d.id}>
                <td className="mono">{d.eventType}</td>
                <td>
                  <span className={`badge ${d.status}`}>{d.status}</span>
                </td>
                <td>{d.attempts}</td>
                <td>{d.lastStatusCode ?? d.lastError ?? '—'}</td>
                <td>
                  <DateTime value={d.createdAt} />
                </td>
                <td>
                  <DateTime value={d.nextAttemptAt} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
