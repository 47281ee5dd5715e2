import { lazy } from 'react';
import type { FeatureRoute } from '../../../lib/routes';

export const routes: FeatureRoute[] = [
  { path: 'keys', title: 'Gateway keys', roles: ['admin', 'developer'], nav: { label: 'Keys', order: 20 }, component: lazy(() => import('./KeysPage')) },
];
