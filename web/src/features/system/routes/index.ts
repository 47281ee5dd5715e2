import { lazy } from 'react';
import type { FeatureRoute } from '../../../lib/routes';

export const routes: FeatureRoute[] = [
  { path: 'system', title: 'System', roles: ['admin'], nav: { label: 'System', order: 90 }, component: lazy(() => import('./SystemPage')) },
];
