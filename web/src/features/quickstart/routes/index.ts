import { lazy } from 'react';
import type { FeatureRoute } from '../../../lib/routes';

export const routes: FeatureRoute[] = [
  { path: 'quickstart', title: 'Quickstart', roles: ['admin', 'developer'], nav: { label: 'Quickstart', order: 25 }, component: lazy(() => import('./QuickstartPage')) },
];
