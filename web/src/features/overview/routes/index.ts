import { lazy } from 'react';
import { ALL_ROLES, type FeatureRoute } from '../../../lib/routes';

export const routes: FeatureRoute[] = [
  { path: '', title: 'Overview', roles: ALL_ROLES, component: lazy(() => import('./OverviewPage')) },
];
