import { lazy } from 'react';
import type { FeatureRoute } from '../../../lib/routes';

// developers: a team admin manages their team's budget-alert webhooks (anyone else gets an empty list)
export const routes: FeatureRoute[] = [
  { path: 'webhooks', title: 'Webhooks', roles: ['admin', 'developer'], nav: { label: 'Webhooks', order: 75 }, component: lazy(() => import('./WebhooksPage')) },
];
