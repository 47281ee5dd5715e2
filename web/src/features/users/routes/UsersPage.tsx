import { Fragment, useState } from 'react';
import { Page, Loading } from '../../../components/Page';
import { ErrorMessage } from '../../../components/ErrorMessage';
import { DateTime } from '../../../components/DateTime';
import { SelectField, TextField } from '../../../components/Field';
import { useUsers, type UserFilters } from '../api/users';
import { CreateUserForm } from '../components/CreateUserForm';
import { UserDetail } from '../components/UserDetail';

export default function UsersPage() {
  const [filters, setFilters] = useState<UserFilters>({ limit: 100 });
  const [creating, setCreating] = useState(false);
  const [open, setOpen] = useState<string | null>(null);
  const users = useUsers(filters);
  return (
    <Page title="Users" actions={<button type="button" onClick={() => setCreating(true)}>Create a user</button>}>
      {creating && <CreateUserForm onDone={() => setCreating(false)} />}
      <div className="toolbar" role="search" aria-label="Filter users">
        <TextField label="Email contains" value={filters.q ?? ''} onChange={(e) => setFilters({ ...filters, q: e.target.value || undefined })} />
        <SelectField label="Role" value={filters.role ?? ''} onChange={(e) => setFilters({ ...filters, role: (e.target.value || undefined) as UserFilters['role'] })} options={['', 'admin', 'developer', 'analyst']} />
      </div>
      {users.isPending && <Loading />}
      <ErrorMessage error={users.error} />
      {users.data && (
        <table aria-label="Users">
          <thead>
            <tr>
              <th scope="col">Email</th>
              <th scope="col">Role</th>
              <th scope="col">Plan</th>
              <th scope="col">Status</th>
              <th scope="col">Last sign-in</th>
              <th scope="col">Manage</th>
            </tr>
          </thead>
          <tbody>
            {users.data.data.map((u) => (
              <Fragment key={u.id}>
                <tr>
                  <td>{u.email}</td>
                  <td>{u.role}</td>
                  <td>{u.plan}</td>
                  <td>
                    <span className={`badge ${u.disabled ? 'disabled' : 'active'}`}>{u.disabled ? 'disabled' : 'active'}</span>
                    {u.mustChangePassword && <div className="small muted">must change password</div>}
                  </td>
                  <td>
                    <DateTime value={u.lastLoginAt} />
                  </td>
                  <td>
                    <button type="button" className="secondary" aria-expanded={open === u.id} aria-label={`Manage ${u.email}`} onClick={() => setOpen(open === u.id ? null : u.id)}>
                      Manage
                    </button>
                  </td>
                </tr>
                {open === u.id && (
                  <tr>
                    <td colSpan={6}>
                      <UserDetail user={u} />
                    </td>
                  </tr>
                )}
              </Fragment>
            ))}
          </tbody>
        </table>
      )}
    </Page>
  );
}
