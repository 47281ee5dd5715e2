import { useState } from 'react';
import { Page, Loading } from '../../../components/Page';
import { ErrorMessage } from '../../../components/ErrorMessage';
import { Money } from '../../../components/Money';
import { dollarsToMicro } from '../../../lib/format';
import { useSession } from '../../../lib/session';
import { useServices } from '../api/services';
import { ServiceForm } from '../components/ServiceForm';

export default function ServicesPage() {
  const isAdmin = useSession().data?.user.role === 'admin';
  const services = useServices();
  const [editing, setEditing] = useState<string | 'new' | null>(null);
  const current = services.data?.data.find((s) => s.slug === editing);
  return (
    <Page title="Services" actions={isAdmin && <button type="button" onClick={() => setEditing('new')}>Add a service</button>}>
      {editing === 'new' && <ServiceForm onDone={() => setEditing(null)} />}
      {current && <ServiceForm key={current.slug} service={current} onDone={() => setEditing(null)} />}
      {services.isPending && <Loading />}
      <ErrorMessage error={services.error} />
      {services.data && (
        <table aria-label="Services">
          <thead>
            <tr>
              <th scope="col">Service</th>
              <th scope="col">Kind</th>
              <th scope="col">Base URL</th>
              <th scope="col">Credential</th>
              <th scope="col">Cost per call</th>
              <th scope="col">Status</th>
              {isAdmin && <th scope="col">Actions</th>}
            </tr>
          </thead>
          <tbody>
            {services.data.data.map((s) => (
              <tr key={s.slug}>
                <td>
                  <strong>{s.slug}</strong> {s.builtin && <span className="badge">built in</span>}
                  <div className="small muted">{s.name}</div>
                </td>
                <td>{s.kind}</td>
                <td className="mono small">{s.baseUrl}</td>
                <td>
                  {s.auth.type}
                  {s.auth.name ? ` (${s.auth.name})` : ''}
                </td>
                <td>
                  <Money micro={dollarsToMicro(s.costPerCall)} />
                </td>
                <td>
                  <span className={`badge ${s.enabled ? 'active' : 'disabled'}`}>{s.enabled ? 'enabled' : 'disabled'}</span>
                  {s.allowPrivate && <div className="small muted">private addresses allowed</div>}
                </td>
                {isAdmin && (
                  <td>
                    <button type="button" className="secondary" aria-label={`Edit ${s.slug}`} onClick={() => setEditing(s.slug)}>
                      Edit
                    </button>
                  </td>
                )}
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </Page>
  );
}
