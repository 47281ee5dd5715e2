import { Fragment, useState } from 'react';
import { Page, Loading } from '../../../components/Page';
import { ErrorMessage } from '../../../components/ErrorMessage';
import { Money } from '../../../components/Money';
import { useSession } from '../../../lib/session';
import { dollarsToMicro, formatNumber } from '../../../lib/format';
import { useDeleteTeam, useTeams } from '../api/teams';
import { TeamForm } from '../components/TeamForm';
import { TeamMembers } from '../components/TeamMembers';
import { TeamUsage } from '../components/TeamUsage';
import { TeamBudget } from '../components/TeamBudget';
import { OrgBudget } from '../components/OrgBudget';

/**
 * Teams: admins see every team, create, edit and delete them and manage members; anyone else sees the teams they
 * belong to, and a team admin manages their team's members.
 */
export default function TeamsPage() {
  const session = useSession().data;
  const isAdmin = session?.user.role === 'admin';
  const teams = useTeams();
  const remove = useDeleteTeam();
  const [creating, setCreating] = useState(false);
  const [editing, setEditing] = useState<string | null>(null);
  const [open, setOpen] = useState<string | null>(null);
  const [usageOf, setUsageOf] = useState<string | null>(null);
  const [budgetOf, setBudgetOf] = useState<string | null>(null);
  return (
    <Page
      title={isAdmin ? 'Teams' : 'My teams'}
      actions={
        isAdmin && (
          <button type="button" onClick={() => setCreating(true)}>
            Create a team
          </button>
        )
      }
    >
      {isAdmin && <OrgBudget />}
      {creating && <TeamForm onDone={() => setCreating(false)} />}
      {teams.isPending && <Loading />}
      <ErrorMessage error={teams.error} />
      {teams.data && teams.data.data.length === 0 && <p>{isAdmin ? 'No teams yet.' : 'You are not in any team.'}</p>}
      {teams.data && teams.data.data.length > 0 && (
        <table aria-label="Teams">
          <thead>
            <tr>
              <th scope="col">Team</th>
              <th scope="col">Slug</th>
              <th scope="col">Budget</th>
              <th scope="col">Ceilings per key</th>
              <th scope="col">Services</th>
              <th scope="col">Models</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {teams.data.data.map((t) => (
              <Fragment key={t.id}>
                <tr>
                  <td>{t.name}</td>
                  <td className="mono">{t.slug}</td>
                  <td>{t.monthlyBudget === null ? 'none' : <><Money micro={dollarsToMicro(t.monthlyBudget)} /> {t.budgetPeriod ?? 'monthly'}</>}</td>
                  <td>
                    {t.rpm === null ? 'no rpm ceiling' : `${formatNumber(t.rpm)} rpm`}, {t.tpm === null ? 'no tpm ceiling' : `${formatNumber(t.tpm)} tpm`}
                  </td>
                  <td>{t.services?.join(', ') ?? 'any'}</td>
                  <td>{t.models?.join(', ') ?? 'any'}</td>
                  <td>
                    <div className="actions">
                      <button type="button" className="secondary" aria-expanded={open === t.id} aria-label={`Members of ${t.name}`} onClick={() => setOpen(open === t.id ? null : t.id)}>
                        Members
                      </button>
                      <button type="button" className="secondary" aria-expanded={usageOf === t.id} aria-label={`Usage of ${t.name}`} onClick={() => setUsageOf(usageOf === t.id ? null : t.id)}>
                        Usage
                      </button>
                      <button type="button" className="secondary" aria-expanded={budgetOf === t.id} aria-label={`Budget of ${t.name}`} onClick={() => setBudgetOf(budgetOf === t.id ? null : t.id)}>
                        Budget
                      </button>
                      {isAdmin && (
                        <>
                          <button type="button" className="secondary" aria-label={`Edit team ${t.name}`} onClick={() => setEditing(editing === t.id ? null : t.id)}>
                            Edit
                          </button>
                          <button type="button" className="danger" aria-label={`Delete team ${t.name}`} onClick={() => window.confirm(`Delete the team ${t.name}?`) && remove.mutate(t.id)}>
                            Delete
                          </button>
                        </>
                      )}
                    </div>
                  </td>
                </tr>
                {editing === t.id && (
                  <tr>
                    <td colSpan={7}>
                      <TeamForm team={t} onDone={() => setEditing(null)} />
                    </td>
                  </tr>
                )}
                {budgetOf === t.id && (
                  <tr>
                    <td colSpan={7}>
                      <TeamBudget team={t} isAdmin={isAdmin} />
                    </td>
                  </tr>
                )}
                {usageOf === t.id && (
                  <tr>
                    <td colSpan={7}>
                      <TeamUsage team={t} />
                    </td>
                  </tr>
                )}
                {open === t.id && (
                  <tr>
                    <td colSpan={7}>
                      <TeamMembers team={t} isAdmin={isAdmin} meId={session?.user.id} />
                    </td>
                  </tr>
                )}
              </Fragment>
            ))}
          </tbody>
        </table>
      )}
      <ErrorMessage error={remove.error} />
    </Page>
  );
}
