import { z } from 'zod';
import type { Deps } from '../deps';
import type { Api } from '../http/api';
import { auditActor } from '../http/context';
import { ROLES } from '../auth/permissions';
import { presentUser } from '../auth/users';
import { createUserAsAdmin, getUser, listUsers, updateUser } from '../auth/user-admin';

const role = z.enum(ROLES as [typeof ROLES[number], ...typeof ROLES[number][]]);
const plan = z.string().trim().min(1).max(64);
const password = z.string().min(12, 'must be at least 12 characters').max(1024);
const idParams = z.object({ id: z.string() });
const listQuery = z.object({
  role: role.optional(),
  disabled: z.enum(['true', 'false']).transform((v) => v === 'true').optional(),
  q: z.string().trim().min(1).max(254).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
  offset: z.coerce.number().int().min(0).default(0),
});
const createBody = z.strictObject({
  email: z.email().max(254).transform((e) => e.toLowerCase()),
  password,
  role: role.default('developer'),
  plan: plan.optional(),
});
const patchBody = z
  .strictObject({ role: role.optional(), plan: plan.optional(), disabled: z.boolean().optional(), password: password.optional() })
  .refine((b) => Object.keys(b).length > 0, 'nothing to change');

export function usersRoutes(deps: Deps, api: (tag: string) => Api) {
  return api('Users')
    .route(
      { method: 'get', path: '/users', summary: 'List users (newest first)', auth: 'jwt', permission: 'users:read', query: listQuery },
      (_ctx, { query }) => listUsers(deps, query),
    )
    .route(
      { method: 'post', path: '/users', summary: 'Create a user', auth: 'jwt', permission: 'users:write', body: createBody, status: 201 },
      async (ctx, { body }) => presentUser(await createUserAsAdmin(deps, body, auditActor(ctx))),
    )
    .route(
      { method: 'get', path: '/users/:id', summary: 'One user', auth: 'jwt', permission: 'users:read', params: idParams },
      async (_ctx, { params }) => presentUser(await getUser(deps, params.id)),
    )
    .route(
      { method: 'patch', path: '/users/:id', summary: 'Change role, plan, password or disabled (takes effect at once)', auth: 'jwt', permission: 'users:write', params: idParams, body: patchBody },
      async (ctx, { params, body }) => presentUser(await updateUser(deps, params.id, body, auditActor(ctx))),
    ).router;
}
