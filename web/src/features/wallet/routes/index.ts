import { lazy } from 'react';
import type { FeatureRoute } from '../../../lib/routes';

export const routes: FeatureRoute[] = [
  { path: 'wallet', title: 'Wallet', roles: ['admin'], nav: { label: 'Wallet', order: 10 }, component: lazy(() => import('./WalletPage')) },
];
