import { lazy } from 'react';
import type { FeatureRoute } from '../../../lib/routes';

export const routes: FeatureRoute[] = [
  { path: 'plans', title: 'Plans', roles: ['admin', 'developer', 'analyst'], nav: { label: 'Plans', order: 40 }, component: lazy(() => import('./PlansPage')) },
];
