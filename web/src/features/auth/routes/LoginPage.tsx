import { useState, type FormEvent } from 'react';
import { Navigate, useLocation, useNavigate } from 'react-router';
import { useLogin, useSession } from '../../../lib/session';
import { TextField } from '../../../components/Field';
import { ErrorMessage } from '../../../components/ErrorMessage';
import { safeNext } from '../api/next';

export default function LoginPage() {
  const session = useSession();
  const login = useLogin();
  const navigate = useNavigate();
  const location = useLocation();
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const next = safeNext(location.search);
  const expired = new URLSearchParams(location.search).has('expired');

  if (session.data && !login.isPending) {
    return <Navigate to={session.data.user.mustChangePassword ? `/change-password?next=${encodeURIComponent(next)}` : next} replace />;
  }
  const submit = (e: FormEvent) => {
    e.preventDefault();
    login.mutate(
      { email, password },
      {
        onSuccess: (s) => navigate(s.user.mustChangePassword ? `/change-password?next=${encodeURIComponent(next)}` : next, { replace: true }),
      },
    );
  };
  return (
    <main className="auth-page">
      <h1>Sign in to Keywallet</h1>
      {expired && !login.error && (
        <p role="status" className="notice">
          Your session has ended. Sign in again to go back to where you were.
        </p>
      )}
      <form onSubmit={submit} aria-label="Sign in">
        <TextField label="Email" type="email" autoComplete="username" required value={email} onChange={(e) => setEmail(e.target.value)} autoFocus />
        <TextField label="Password" type="password" autoComplete="current-password" required value={password} onChange={(e) => setPassword(e.target.value)} />
        <ErrorMessage error={login.error} />
        <button type="submit" disabled={login.isPending}>
          {login.isPending ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
    </main>
  );
}
