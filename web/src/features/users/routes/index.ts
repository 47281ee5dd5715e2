import { lazy } from 'react';
import type { FeatureRoute } from '../../../lib/routes';

export const routes: FeatureRoute[] = [
  { path: 'users', title: 'Users', roles: ['admin'], nav: { label: 'Users', order: 30 }, component: lazy(() => import('./UsersPage')) },
];
