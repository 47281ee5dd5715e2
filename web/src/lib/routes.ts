import type { ComponentType, LazyExoticComponent } from 'react';

export type Role = 'admin' | 'developer' | 'analyst';

/**
 * What a feature contributes to the console: its pages. Each feature exports `routes: FeatureRoute[]` from
 * `features/<name>/routes/index.ts`, and app/routes.ts lists every feature's array — adding a feature is one
 * line there. `roles` mirrors what the API allows (the API enforces it; the console only hides the rest).
 */
export interface FeatureRoute {
  /** under /console, without a leading slash ('' = the home page) */
  path: string;
  title: string;
  roles: Role[];
  /** shown in the navigation when set; lower order comes first */
  nav?: { label: string; order: number };
  component: LazyExoticComponent<ComponentType>;
}

export const ALL_ROLES: Role[] = ['admin', 'developer', 'analyst'];
