import { lazy } from 'react';

/** The pages outside the shell: signing in, and the password change a new or reset account must make first. */
export const authRoutes = [
  { path: '/login', component: lazy(() => import('./LoginPage')) },
  { path: '/change-password', component: lazy(() => import('./ChangePasswordPage')) },
];
