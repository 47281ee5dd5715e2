import { useEffect } from 'react';
import { NavLink, Outlet, useLocation, useNavigate } from 'react-router';
import { useQueryClient } from '@tanstack/react-query';
import { setSessionLostHandler } from '../lib/api/client';
import { markSessionLost, SESSION_QUERY_KEY, useLogout, useSession } from '../lib/session';
import { TIME_PRESETS, useTimeRange, type TimePreset } from '../lib/time-range';
import { featureRoutes } from './routes';

function TimeRangeControl() {
  const range = useTimeRange();
  return (
    <label className="time-range">
      Time range{' '}
      <select value={range.preset} onChange={(e) => range.setPreset(e.target.value as TimePreset)}>
        {Object.entries(TIME_PRESETS).map(([value, label]) => (
          <option key={value} value={value}>
            {label}
          </option>
        ))}
      </select>
    </label>
  );
}

/** The shell: skip link, navigation for the user's role, the shared time range, who is signed in, logout. */
export function Layout() {
  const session = useSession().data!;
  const logout = useLogout();
  const navigate = useNavigate();
  const location = useLocation();
  const queryClient = useQueryClient();

  // a 401 from any call means the session ended (expired, logged out elsewhere, password changed): forgetting
  // it sends RequireSession to the login page, which brings the user back to this page afterwards
  useEffect(() => {
    setSessionLostHandler(() => {
      markSessionLost();
      queryClient.setQueryData(SESSION_QUERY_KEY, null);
    });
    return () => setSessionLostHandler(null);
  }, [queryClient]);

  useEffect(() => {
    document.getElementById('page-title')?.focus();
  }, [location.pathname]);

  const nav = featureRoutes
    .filter((r) => r.nav && r.roles.includes(session.user.role))
    .sort((a, b) => a.nav!.order - b.nav!.order);
  return (
    <div className="shell">
      <a className="skip-link" href="#content">
        Skip to content
      </a>
      <header className="topbar">
        <span className="brand">Keywallet</span>
        <TimeRangeControl />
        <span className="who">
          {session.user.email} <span className="badge">{session.user.role}</span>
        </span>
        <button type="button" onClick={() => logout.mutate(undefined, { onSettled: () => navigate('/login', { replace: true }) })}>
          Log out
        </button>
      </header>
      <nav aria-label="Console" className="sidebar">
        <ul>
          <li>
            <NavLink to="/" end>
              Home
            </NavLink>
          </li>
          {nav.filter((r) => r.path !== '').map((r) => (
            <li key={r.path}>
              <NavLink to={`/${r.path}`}>{r.nav!.label}</NavLink>
            </li>
          ))}
        </ul>
      </nav>
      <main id="content" className="content">
        <Outlet />
      </main>
    </div>
  );
}
