import { z } from 'zod';
import type { Deps } from '../deps';
import type { Api } from '../http/api';
import { badRequest } from '../http/errors';

const explainQuery = z
  .object({
    service: z.string().regex(/^[a-z0-9][a-z0-9-]{1,40}$/, 'must be a service slug'),
    model: z.string().min(1).max(200).optional(),
    environment: z.enum(['live', 'test']).default('live'),
    teamId: z.uuid().optional().describe("route as a key of this team would: its own pool first, then the shared pool unless the team keeps to its own"),
  })
  .strict();

/** `GET /routing/explain`: the routing decision for a service as a dry run (nothing consumed, nothing called). */
export function routingRoutes(deps: Deps, api: (tag: string) => Api) {
  return api('Routing').route(
    {
      method: 'get',
      path: '/routing/explain',
      summary: "Which wallet entries a request for this service would try, in order, and why others are passed over (?teamId=: for that team's keys, with the pools it may not use)",
      auth: 'jwt',
      permission: 'routing:explain',
      query: explainQuery,
    },
    async (_ctx, { query }) => {
      let team: { id: string; ownPoolOnly: boolean } | null = null;
      if (query.teamId) {
        const row = await deps.db('teams').where({ id: query.teamId }).first('id', 'own_pool_only');
        if (!row) throw badRequest('Unknown team', { param: 'teamId', details: [{ path: 'query.teamId', message: 'no such team' }] });
        team = { id: row.id, ownPoolOnly: row.own_pool_only === true };
      }
      return deps.router.explain({
        service: query.service,
        environment: query.environment,
        model: query.model ?? null,
        team,
        quotaCost: { requests: 1, tokens: 0, creditsMicros: deps.services.get(query.service)?.costPerCallMicros ?? 0 },
      });
    },
  ).router;
}
