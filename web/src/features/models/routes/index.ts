import { lazy } from 'react';
import type { FeatureRoute } from '../../../lib/routes';

export const routes: FeatureRoute[] = [
  { path: 'models', title: 'Models', roles: ['admin', 'developer', 'analyst'], nav: { label: 'Models', order: 55 }, component: lazy(() => import('./ModelsPage')) },
];
