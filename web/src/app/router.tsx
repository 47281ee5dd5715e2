import { lazy, Suspense, type ComponentType } from 'react';
import { createBrowserRouter, Navigate, useLocation } from 'react-router';
import { wasSessionLost, useSession } from '../lib/session';
import type { FeatureRoute } from '../lib/routes';
import { Loading } from '../components/Page';
import { ErrorMessage } from '../components/ErrorMessage';
import { authRoutes } from '../features/auth/routes';
import { featureRoutes } from './routes';
import { Layout } from './Layout';
import { Forbidden, NotFound } from './Fallbacks';

const HomeLinks = lazy(() => import('./HomeLinks'));

/** Where the user was, to come back to after signing in again (?next=). */
export function currentPlace(location: { pathname: string; search: string }): string {
  return encodeURIComponent(location.pathname + location.search);
}

/** Pages behind a session: no session → the login page (remembering the page); pending password change → that page. */
function RequireSession() {
  const session = useSession();
  const location = useLocation();
  if (session.isPending) return <Loading what="Checking your session" />;
  if (session.error) return <ErrorMessage error={session.error} />;
  if (!session.data) return <Navigate to={`/login?${wasSessionLost() ? 'expired=1&' : ''}next=${currentPlace(location)}`} replace />;
  if (session.data.user.mustChangePassword) return <Navigate to={`/change-password?next=${currentPlace(location)}`} replace />;
  return <Layout />;
}

function RoleGate({ route }: { route: FeatureRoute }) {
  const session = useSession();
  const role = session.data?.user.role;
  if (!role || !route.roles.includes(role)) return <Forbidden />;
  const Page = route.component as ComponentType;
  return <Page />;
}

const suspended = (node: React.ReactNode) => <Suspense fallback={<Loading />}>{node}</Suspense>;

export function buildRouter() {
  const hasHome = featureRoutes.some((r) => r.path === '');
  return createBrowserRouter(
    [
      ...authRoutes.map((r) => ({ path: r.path, element: suspended(<r.component />) })),
      {
        element: <RequireSession />,
        children: [
          ...(hasHome ? [] : [{ index: true, element: suspended(<HomeLinks />) }]),
          ...featureRoutes.map((route) =>
            route.path === '' ? { index: true, element: suspended(<RoleGate route={route} />) } : { path: route.path, element: suspended(<RoleGate route={route} />) },
          ),
          { path: '*', element: <NotFound /> },
        ],
      },
    ],
    { basename: '/console' },
  );
}

