import { lazy } from 'react';
import type { FeatureRoute } from '../../../lib/routes';

export const routes: FeatureRoute[] = [
  { path: 'services', title: 'Services', roles: ['admin', 'developer', 'analyst'], nav: { label: 'Services', order: 50 }, component: lazy(() => import('./ServicesPage')) },
];
