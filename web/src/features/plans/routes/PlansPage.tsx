import { useState } from 'react';
import { Page, Loading } from '../../../components/Page';
import { ErrorMessage } from '../../../components/ErrorMessage';
import { Money } from '../../../components/Money';
import { dollarsToMicro, formatNumber } from '../../../lib/format';
import { useSession } from '../../../lib/session';
import { usePlans } from '../api/plans';
import { PlanForm } from '../components/PlanForm';

const limit = (n: number | null) => (n === null ? 'no limit' : formatNumber(n));

export default function PlansPage() {
  const isAdmin = useSession().data?.user.role === 'admin';
  const plans = usePlans();
  const [editing, setEditing] = useState<string | null>(null);
  const current = plans.data?.data.find((p) => p.id === editing);
  return (
    <Page title="Plans" actions={isAdmin && <button type="button" onClick={() => setEditing('new')}>Create a plan</button>}>
      {editing === 'new' && <PlanForm onDone={() => setEditing(null)} />}
      {current && <PlanForm key={current.id} plan={current} onDone={() => setEditing(null)} />}
      {plans.isPending && <Loading />}
      <ErrorMessage error={plans.error} />
      {plans.data && (
        <table aria-label="Plans">
          <thead>
            <tr>
              <th scope="col">Plan</th>
              <th scope="col">Per minute</th>
              <th scope="col">Per hour</th>
              <th scope="col">Per day</th>
              <th scope="col">Tokens / minute</th>
              <th scope="col">Monthly credits</th>
              <th scope="col">Services</th>
              {isAdmin && <th scope="col">Edit</th>}
            </tr>
          </thead>
          <tbody>
            {plans.data.data.map((p) => (
              <tr key={p.id}>
                <td>
                  <strong>{p.name}</strong> <span className="mono small">{p.id}</span>
                </td>
                <td>{limit(p.rpm)}</td>
                <td>{limit(p.rph)}</td>
                <td>{limit(p.rpd)}</td>
                <td>{limit(p.tpm)}</td>
                <td>{p.monthlyCredits === null ? 'unlimited' : <Money micro={dollarsToMicro(p.monthlyCredits)} />}</td>
                <td>{p.services?.join(', ') ?? 'all'}</td>
                {isAdmin && (
                  <td>
                    <button type="button" className="secondary" aria-label={`Edit plan ${p.id}`} onClick={() => setEditing(p.id)}>
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
