import { useState, type FormEvent } from 'react';
import { Navigate, useLocation, useNavigate } from 'react-router';
import { useChangePassword, useLogout, useSession } from '../../../lib/session';
import { TextField } from '../../../components/Field';
import { ErrorMessage } from '../../../components/ErrorMessage';
import { Loading } from '../../../components/Page';
import { safeNext } from '../api/next';

const MIN_LENGTH = 12; // POST /auth/password: newPassword min 12

export default function ChangePasswordPage() {
  const session = useSession();
  const change = useChangePassword();
  const logout = useLogout();
  const navigate = useNavigate();
  const location = useLocation();
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const [confirm, setConfirm] = useState('');
  const [mismatch, setMismatch] = useState(false);
  const after = safeNext(location.search);

  if (session.isPending) return <Loading what="Checking your session" />;
  if (!session.data) return <Navigate to={`/login?next=${encodeURIComponent(location.pathname + location.search)}`} replace />;
  const forced = session.data.user.mustChangePassword;
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (next !== confirm) return setMismatch(true);
    setMismatch(false);
    change.mutate({ currentPassword: current, newPassword: next }, { onSuccess: () => navigate(after, { replace: true }) });
  };
  return (
    <main className="auth-page">
      <h1>{forced ? 'Choose your own password' : 'Change your password'}</h1>
      {forced && (
        <p className="notice" role="status">
          Your password was set by someone else (or printed when the gateway first started). Choose your own before going on.
        </p>
      )}
      <form onSubmit={submit} aria-label="Change password">
        <TextField label="Current password" type="password" autoComplete="current-password" required value={current} onChange={(e) => setCurrent(e.target.value)} autoFocus />
        <TextField
          label="New password"
          type="password"
          autoComplete="new-password"
          required
          minLength={MIN_LENGTH}
          hint={`At least ${MIN_LENGTH} characters.`}
          value={next}
          onChange={(e) => setNext(e.target.value)}
        />
        <TextField label="Repeat the new password" type="password" autoComplete="new-password" required value={confirm} onChange={(e) => setConfirm(e.target.value)} />
        {mismatch && (
          <p role="alert" className="error">
            The two new passwords differ.
          </p>
        )}
        <ErrorMessage error={change.error} />
        <div className="actions">
          <button type="submit" disabled={change.isPending}>
            Change password
          </button>
          <button type="button" className="secondary" onClick={() => logout.mutate(undefined, { onSettled: () => navigate('/login', { replace: true }) })}>
            Log out
          </button>
        </div>
      </form>
    </main>
  );
}
