import { lazy } from 'react';
import type { FeatureRoute } from '../../../lib/routes';

export const routes: FeatureRoute[] = [
  { path: 'routing', title: 'Routing', roles: ['admin'], nav: { label: 'Routing', order: 70 }, component: lazy(() => import('./RoutingPage')) },
];
