import { useState, type FormEvent } from 'react';
import { SelectField, TextField } from '../../../components/Field';
import { ErrorMessage } from '../../../components/ErrorMessage';
import { Loading } from '../../../components/Page';
import { DateTime } from '../../../components/DateTime';
import { useAddMember, useChangeMember, useMembers, useRemoveMember, useUserOptions, type Team, type TeamRole } from '../api/teams';

const ROLES: { value: TeamRole; label: string }[] = [
  { value: 'member', label: 'member' },
  { value: 'team_admin', label: 'team admin' },
];

/**
 * A team's members with their team roles: an org admin or the team's own team admins add, change and remove them
 * (the API refuses anyone else, and that refusal is shown in its words). Org admins pick users from a list;
 * team admins, who cannot list users, add one by id.
 */
export function TeamMembers({ team, isAdmin, meId }: { team: Team; isAdmin: boolean; meId?: string }) {
  const members = useMembers(team.id);
  const users = useUserOptions(isAdmin).data?.data ?? [];
  const add = useAddMember();
  const change = useChangeMember();
  const remove = useRemoveMember();
  const [who, setWho] = useState('');
  const [role, setRole] = useState<TeamRole>('member');
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (!who.trim()) return;
    add.mutate({ teamId: team.id, userId: who.trim(), role }, { onSuccess: () => setWho('') });
  };
  const present = new Set(members.data?.data.map((m) => m.userId));
  return (
    <section aria-label={`Members of ${team.name}`}>
      <h3>Members of {team.name}</h3>
      {members.isPending && <Loading what="Loading members" />}
      <ErrorMessage error={members.error} />
      {members.data && members.data.data.length === 0 && <p>No members yet.</p>}
      {members.data && members.data.data.length > 0 && (
        <table aria-label={`Members of ${team.name}`}>
          <thead>
            <tr>
              <th scope="col">User</th>
              <th scope="col">Team role</th>
              <th scope="col">Since</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {members.data.data.map((m) => (
              <tr key={m.userId}>
                <td>
                  {m.email ?? m.userId}
                  {m.userId === meId && <span className="badge"> you</span>}
                </td>
                <td>
                  <SelectField
                    label={`Team role of ${m.email ?? m.userId}`}
                    value={m.role}
                    options={ROLES}
                    disabled={change.isPending}
                    onChange={(e) => change.mutate({ teamId: team.id, userId: m.userId, role: e.target.value as TeamRole })}
                  />
                </td>
                <td>
                  <DateTime value={m.createdAt} />
                </td>
                <td>
                  <button type="button" className="danger" aria-label={`Remove ${m.email ?? m.userId} from ${team.name}`} onClick={() => remove.mutate({ teamId: team.id, userId: m.userId })}>
                    Remove
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <ErrorMessage error={change.error ?? remove.error} />
      {members.data && (
        <form className="toolbar" onSubmit={submit} aria-label={`Add a member to ${team.name}`}>
          {isAdmin ? (
            <SelectField
              label="User"
              value={who}
              onChange={(e) => setWho(e.target.value)}
              options={[{ value: '', label: 'Choose a user' }, ...users.filter((u) => !present.has(u.id)).map((u) => ({ value: u.id, label: `${u.email} (${u.role})` }))]}
            />
          ) : (
            <TextField label="User id" value={who} onChange={(e) => setWho(e.target.value)} hint="The user’s id (an admin can look it up)." />
          )}
          <SelectField label="Role in the team" value={role} onChange={(e) => setRole(e.target.value as TeamRole)} options={ROLES} />
          <button type="submit" className="secondary" disabled={add.isPending || !who}>
            Add member
          </button>
        </form>
      )}
      <ErrorMessage error={add.error} />
    </section>
  );
}
