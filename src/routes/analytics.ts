import { z } from 'zod';
import type { Deps } from '../deps';
import type { Api } from '../http/api';
import type { AppContext } from '../http/context';
import { can } from '../auth/permissions';
import { GROUP_BY, UsageFilter, usageOverview, usageReport } from '../usage/analytics';
import { isIsoDate, resolvePeriod } from '../usage/period';
import { usageCsv } from '../usage/csv';

const isoDate = z.string().refine(isIsoDate, { message: 'must be a date YYYY-MM-DD' });
const filterText = z.string().min(1).max(200);

const overviewQuery = z.object({
  from: isoDate.optional().describe('first day, UTC, inclusive (default: 29 days before `to`)'),
  to: isoDate.optional().describe('last day, UTC, inclusive (default: today)'),
  top: z.coerce.number().int().min(1).max(50).default(5).describe('entries in each top list'),
});

const usageQuery = z.object({
  from: overviewQuery.shape.from,
  to: overviewQuery.shape.to,
  groupBy: z.enum(GROUP_BY).default('day'),
  service: filterText.optional(),
  model: filterText.optional(),
  userId: z.guid().optional().describe('ignored for developers: they always see their own usage'),
  keyId: z.guid().optional(),
  format: z.enum(['json', 'csv']).default('json'),
});

/**
 * Admins and analysts ('analytics:all') see everyone's usage; anyone else with 'analytics:own' (developers)
 * is pinned to their own user id, whatever userId they ask for.
 */
function scopeToCaller(ctx: AppContext, filter: UsageFilter): { filter: UsageFilter; scope: 'all' | 'own' } {
  const user = ctx.state.user!;
  if (can(user.role, 'analytics:all')) return { filter, scope: 'all' };
  return { filter: { ...filter, userId: user.id }, scope: 'own' };
}

export function analyticsRoutes(deps: Deps, api: (tag: string) => Api) {
  return api('Analytics')
    .route(
      {
        method: 'get',
        path: '/analytics/overview',
        summary: 'Totals and top services, models, users and keys for a period (developers: their own usage)',
        auth: 'jwt',
        permission: 'analytics:own',
        query: overviewQuery,
      },
      async (ctx, { query }) => {
        const { filter, scope } = scopeToCaller(ctx, resolvePeriod(query, deps.clock.now()));
        return { scope, ...(await usageOverview(deps.db, filter, query.top)) };
      },
    )
    .route(
      {
        method: 'get',
        path: '/analytics/usage',
        summary: 'Usage grouped by day, service, model, key, user or provider key; JSON or CSV (format=csv)',
        auth: 'jwt',
        permission: 'analytics:own',
        query: usageQuery,
      },
      async (ctx, { query }) => {
        const period = resolvePeriod(query, deps.clock.now());
        const { filter, scope } = scopeToCaller(ctx, {
          ...period,
          service: query.service,
          model: query.model,
          userId: query.userId,
          keyId: query.keyId,
        });
        const rows = await usageReport(deps.db, filter, query.groupBy);
        if (query.format === 'csv') {
          ctx.attachment(`usage-${query.groupBy}-${period.from}-${period.to}.csv`);
          ctx.type = 'text/csv; charset=utf-8';
          return usageCsv(rows);
        }
        return { from: period.from, to: period.to, groupBy: query.groupBy, scope, rows };
      },
    ).router;
}
