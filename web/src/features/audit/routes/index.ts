import { lazy } from 'react';
import type { FeatureRoute } from '../../../lib/routes';

export const routes: FeatureRoute[] = [
  { path: 'audit', title: 'Audit log', roles: ['admin'], nav: { label: 'Audit', order: 80 }, component: lazy(() => import('./AuditPage')) },
];
