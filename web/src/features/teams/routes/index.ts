import { lazy } from 'react';
import { ALL_ROLES, type FeatureRoute } from '../../../lib/routes';

export const routes: FeatureRoute[] = [
  { path: 'teams', title: 'Teams', roles: ALL_ROLES, nav: { label: 'Teams', order: 35 }, component: lazy(() => import('./TeamsPage')) },
];
