import { z } from 'zod';
import type { Deps } from '../deps';
import type { Api } from '../http/api';
import { auditActor } from '../http/context';
import { createPlan, getPlan, listPlans, presentPlan, updatePlan } from '../limits/plans';

const limit = z.number().int().min(1).max(1_000_000_000).nullable();
const planFields = {
  name: z.string().trim().min(1).max(100),
  rpm: limit.describe('requests per minute; null = unlimited'),
  rph: limit.describe('requests per hour; null = unlimited'),
  rpd: limit.describe('requests per day; null = unlimited'),
  tpm: limit.describe('tokens per minute; null = unlimited'),
  monthlyCredits: z.number().min(0).max(1_000_000_000).nullable().describe('USD per calendar month (1 credit = 1 USD); null = unlimited'),
  services: z
    .array(z.string().regex(/^[a-z0-9][a-z0-9_-]{0,63}$/))
    .max(200)
    .nullable()
    .describe('service slugs the plan may use; null = every service'),
};

const createPlanSchema = z.strictObject({
  id: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,39}$/, 'lowercase letters, digits, - and _ (at most 40)'),
  name: planFields.name,
  rpm: planFields.rpm.optional(),
  rph: planFields.rph.optional(),
  rpd: planFields.rpd.optional(),
  tpm: planFields.tpm.optional(),
  monthlyCredits: planFields.monthlyCredits.optional(),
  services: planFields.services.optional(),
});

const updatePlanSchema = z
  .strictObject({
    name: planFields.name.optional(),
    rpm: planFields.rpm.optional(),
    rph: planFields.rph.optional(),
    rpd: planFields.rpd.optional(),
    tpm: planFields.tpm.optional(),
    monthlyCredits: planFields.monthlyCredits.optional(),
    services: planFields.services.optional(),
  })
  .refine((b) => Object.values(b).some((v) => v !== undefined), 'give at least one field to change');

const idParams = z.object({ id: z.string().min(1).max(40) });

/** /plans: rate limits and monthly credits per plan. A change applies to the next request on every node. */
export function plansRoutes(deps: Deps, api: (tag: string) => Api) {
  return api('Plans')
    .route({ method: 'get', path: '/plans', summary: 'List plans', auth: 'jwt', permission: 'plans:read' }, async () => ({
      data: (await listPlans(deps.db)).map(presentPlan),
    }))
    .route(
      { method: 'get', path: '/plans/:id', summary: 'Get a plan', auth: 'jwt', permission: 'plans:read', params: idParams },
      async (_ctx, { params }) => presentPlan(await getPlan(deps.db, params.id)),
    )
    .route(
      { method: 'post', path: '/plans', summary: 'Create a plan', auth: 'jwt', permission: 'plans:write', body: createPlanSchema, status: 201 },
      async (ctx, { body }) => presentPlan(await createPlan(deps, body, auditActor(ctx))),
    )
    .route(
      {
        method: 'patch',
        path: '/plans/:id',
        summary: 'Change a plan (built-ins too); null lifts a limit',
        auth: 'jwt',
        permission: 'plans:write',
        params: idParams,
        body: updatePlanSchema,
      },
      async (ctx, { params, body }) => presentPlan(await updatePlan(deps, params.id, body, auditActor(ctx))),
    ).router;
}
