import { lazy } from 'react';
import { ALL_ROLES, type FeatureRoute } from '../../../lib/routes';

export const routes: FeatureRoute[] = [
  { path: 'usage', title: 'Usage', roles: ALL_ROLES, nav: { label: 'Usage', order: 10 }, component: lazy(() => import('./UsagePage')) },
];
