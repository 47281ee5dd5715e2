import { z } from 'zod';
import type { Deps } from '../deps';
import type { Api } from '../http/api';

const explainQuery = z
  .object({
    service: z.string().regex(/^[a-z0-9][a-z0-9-]{1,40}$/, 'must be a service slug'),
    model: z.string().min(1).max(200).optional(),
    environment: z.enum(['live', 'test']).default('live'),
  })
  .strict();

/** `GET /routing/explain`: the routing decision for a service as a dry run (nothing consumed, nothing called). */
export function routingRoutes(deps: Deps, api: (tag: string) => Api) {
  return api('Routing').route(
    {
      method: 'get',
      path: '/routing/explain',
      summary: 'Which wallet entries a request for this service would try, in order, and why others are passed over',
      auth: 'jwt',
      permission: 'routing:explain',
      query: explainQuery,
    },
    async (_ctx, { query }) =>
      deps.router.explain({
        service: query.service,
        environment: query.environment,
        model: query.model ?? null,
        quotaCost: { requests: 1, tokens: 0, creditsMicros: deps.services.get(query.service)?.costPerCallMicros ?? 0 },
      }),
  ).router;
}
