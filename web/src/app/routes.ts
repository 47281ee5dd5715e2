import type { FeatureRoute } from '../lib/routes';
import { routes as wallet } from '../features/wallet/routes';
import { routes as keys } from '../features/keys/routes';
import { routes as quickstart } from '../features/quickstart/routes';
import { routes as users } from '../features/users/routes';
import { routes as plans } from '../features/plans/routes';
import { routes as services } from '../features/services/routes';
import { routes as models } from '../features/models/routes';
import { routes as routing } from '../features/routing/routes';
import { routes as audit } from '../features/audit/routes';
import { routes as system } from '../features/system/routes';
import { routes as overview } from '../features/overview/routes';
import { routes as usage } from '../features/usage/routes';
import { routes as teams } from '../features/teams/routes';
import { routes as webhooks } from '../features/webhooks/routes';

/**
 * Every feature's pages, one line per feature. A feature folder exports `routes` (lib/routes.ts says what a
 * route is); the layout builds the navigation from them, filtered by the user's role. A feature that adds a
 * page with path '' replaces the home page of links (app/HomeLinks.tsx).
 */
export const featureRoutes: FeatureRoute[] = [
  ...overview,
  ...usage,
  ...wallet,
  ...keys,
  ...quickstart,
  ...users,
  ...teams,
  ...plans,
  ...services,
  ...models,
  ...routing,
  ...webhooks,
  ...audit,
  ...system,
];
