import type { Deps } from '../deps';
import type { Api } from '../http/api';
import type { AppContext } from '../http/context';
import { can } from '../auth/permissions';
import { UsageFilter, usageReport } from '../usage/analytics';
import { usageOverview } from '../usage/overview';
import { rangeBounds, resolveRange } from '../usage/range';
import { usageTimeseries } from '../usage/timeseries';
import { usageCsv } from '../usage/csv';
import {
  overviewQuery,
  overviewResponse,
  timeseriesQuery,
  timeseriesResponse,
  usageQuery,
  usageResponse,
} from './analytics-schemas';

/**
 * Admins and analysts ('analytics:all') see everyone's usage; anyone else with 'analytics:own' (developers)
 * is pinned to their own user id, whatever userId they ask for.
 */
function scopeToCaller(ctx: AppContext, filter: UsageFilter): { filter: UsageFilter; scope: 'all' | 'own' } {
  const user = ctx.state.user!;
  if (can(user.role, 'analytics:all')) return { filter, scope: 'all' };
  return { filter: { ...filter, userId: user.id }, scope: 'own' };
}

const pick = (q: { service?: string; model?: string; userId?: string; keyId?: string; status?: UsageFilter['status']; teamId?: string }) => ({
  service: q.service,
  model: q.model,
  userId: q.userId,
  keyId: q.keyId,
  status: q.status,
  teamId: q.teamId,
});

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
        response: overviewResponse,
      },
      async (ctx, { query }) => {
        const { filter, scope } = scopeToCaller(ctx, resolveRange(query, deps.clock.now()));
        return { scope, ...(await usageOverview(deps.db, filter, query.top)) };
      },
    )
    .route(
      {
        method: 'get',
        path: '/analytics/usage',
        summary: 'Usage grouped by day, service, model, key, user, provider key, status class or team; JSON or CSV (format=csv)',
        auth: 'jwt',
        permission: 'analytics:own',
        query: usageQuery,
        response: usageResponse,
      },
      async (ctx, { query }) => {
        const range = resolveRange(query, deps.clock.now());
        const { filter, scope } = scopeToCaller(ctx, { ...range, ...pick(query) });
        const rows = await usageReport(deps.db, filter, query.groupBy);
        if (query.format === 'csv') {
          ctx.attachment(`usage-${query.groupBy}-${range.from}-${range.to}.csv`);
          ctx.type = 'text/csv; charset=utf-8';
          return usageCsv(rows);
        }
        return { from: range.from, to: range.to, groupBy: query.groupBy, scope, rows };
      },
    )
    .route(
      {
        method: 'get',
        path: '/analytics/timeseries',
        summary: 'Usage over time, hourly or daily, optionally one series per service, model, user, key, provider key, status class or team',
        auth: 'jwt',
        permission: 'analytics:own',
        query: timeseriesQuery,
        response: timeseriesResponse,
      },
      async (ctx, { query }) => {
        const range = resolveRange(query, deps.clock.now(), { hourly: query.bucket === 'hour' });
        const { filter, scope } = scopeToCaller(ctx, { ...range, ...pick(query) });
        const series = await usageTimeseries(deps.db, filter, { bucket: query.bucket, groupBy: query.groupBy, top: query.top });
        const { start, end } = rangeBounds(range);
        return { from: start, to: end, bucket: query.bucket, groupBy: query.groupBy ?? null, scope, series };
      },
    ).router;
}
