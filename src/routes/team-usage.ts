import type { Deps } from '../deps';
import type { Api } from '../http/api';
import { teamIdParams } from '../teams/schemas';
import { teamUsage } from '../teams/usage';
import { resolveRange } from '../usage/range';
import { usageCsv } from '../usage/csv';
import { teamUsageQuery, teamUsageResponse } from './analytics-schemas';

/** `GET /teams/:id/usage`: a team's usage for admins, analysts and that team's admins (src/teams/usage.ts). */
export function teamUsageRoutes(deps: Deps, api: (tag: string) => Api) {
  return api('Teams').route(
    {
      method: 'get',
      path: '/teams/:id/usage',
      summary: "A team's usage (calls made with its keys), grouped like /analytics/usage; JSON or CSV. Admins, analysts, or a team admin of that team",
      auth: 'jwt',
      params: teamIdParams,
      query: teamUsageQuery,
      response: teamUsageResponse,
    },
    async (ctx, { params, query }) => {
      const range = resolveRange(query, deps.clock.now());
      const { groupBy, format } = query;
      const filter = { ...range, service: query.service, model: query.model, userId: query.userId, keyId: query.keyId, status: query.status };
      const { rows, totals } = await teamUsage(deps.db, ctx.state.user!, params.id, filter, groupBy);
      if (format === 'csv') {
        ctx.attachment(`usage-team-${params.id}-${groupBy}-${range.from}-${range.to}.csv`);
        ctx.type = 'text/csv; charset=utf-8';
        return usageCsv(rows);
      }
      return { teamId: params.id, from: range.from, to: range.to, groupBy, totals, rows };
    },
  ).router;
}

