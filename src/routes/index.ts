import type Router from '@koa/router';
import type { Deps } from '../deps';
import type { Api } from '../http/api';
import type { AppState } from '../http/context';
import { walletRoutes } from './wallet';
import { servicesRoutes } from './services';
import { modelsRoutes } from './models';
import { analyticsRoutes } from './analytics';
import { apiKeysRoutes } from './api-keys';
import { authRoutes } from './auth';
import { consoleSessionRoutes } from './console-session';
import { usersRoutes } from './users';
import { auditRoutes } from './audit';
import { plansRoutes } from './plans';
import { teamsRoutes } from './teams';
import { teamUsageRoutes } from './team-usage';
import { webhooksRoutes } from './webhooks';
import { orgRoutes } from './org';
import { creditsRoutes } from './credits';
import { proxyRoutes } from './proxy';
import { routingRoutes } from './routing';
import { v1Routes } from './v1';
import { systemRoutes } from './system';

/**
 * Every resource's routes, in one list. A capability adds one line here.
 * `api(tag)` gives a router whose routes document themselves under that OpenAPI tag.
 */
export function mountRoutes(deps: Deps, api: (tag: string) => Api): Router<AppState>[] {
  return [
    walletRoutes(deps, api),
    servicesRoutes(deps, api),
    modelsRoutes(deps, api),
    analyticsRoutes(deps, api),
    authRoutes(deps, api),
    consoleSessionRoutes(deps, api),
    usersRoutes(deps, api),
    apiKeysRoutes(deps, api),
    auditRoutes(deps, api),
    plansRoutes(deps, api),
    teamsRoutes(deps, api),
    teamUsageRoutes(deps, api),
    webhooksRoutes(deps, api),
    orgRoutes(deps, api),
    creditsRoutes(deps, api),
    proxyRoutes(deps, api),
    routingRoutes(deps, api),
    systemRoutes(deps, api),
    v1Routes(deps, api),
  ];
}
