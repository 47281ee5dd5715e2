import { z } from 'zod';
import type { Deps } from '../deps';
import type { Api } from '../http/api';
import { AppContext, auditActor } from '../http/context';
import { can } from '../auth/permissions';
import { bulkRotateSchema, createKeySchema, rotateKeySchema, updateKeySchema } from '../keys/schemas';
import {
  createGatewayKey, getGatewayKey, KeyAccess, listGatewayKeys, revokeGatewayKey, updateGatewayKey,
} from '../keys/service';
import { bulkRotateGatewayKeys, rotateGatewayKey } from '../keys/rotate';
import { gatewayKeyUsage } from '../keys/usage';

const idParams = z.object({ id: z.string() });
const listQuery = z.object({
  userId: z.uuid().optional(),
  teamId: z.uuid().optional().describe("one team's keys: admins, or a team admin of that team"),
  status: z.enum(['active', 'revoked', 'expired']).optional(),
  environment: z.enum(['live', 'test']).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
  offset: z.coerce.number().int().min(0).default(0),
});
const revokeQuery = z.object({ reason: z.string().trim().min(1).max(500).optional() });
const usageQuery = z.object({ from: z.iso.date().optional(), to: z.iso.date().optional() });

/** A developer works on their own keys; `keys:any` (admins) reaches everyone's. */
function access(ctx: AppContext): KeyAccess {
  const user = ctx.state.user!;
  return { userId: user.id, all: can(user.role, 'keys:any') };
}

export function apiKeysRoutes(deps: Deps, api: (tag: string) => Api) {
  return api('API keys')
    .route(
      { method: 'post', path: '/api-keys', summary: 'Create a gateway key (the plaintext is returned once)', auth: 'jwt', permission: 'keys:own', body: createKeySchema, status: 201 },
      async (ctx, { body }) => {
        const issued = await createGatewayKey(deps, access(ctx), body, auditActor(ctx));
        return { ...issued.record, key: issued.key };
      },
    )
    .route(
      { method: 'get', path: '/api-keys', summary: 'List gateway keys (own; admins all, or ?userId=; ?teamId= for admins and that team’s admins)', auth: 'jwt', permission: 'keys:own', query: listQuery },
      (ctx, { query }) => listGatewayKeys(deps, access(ctx), query),
    )
    .route(
      { method: 'post', path: '/api-keys/rotate', summary: 'Rotate many keys at once, by ids or by user', auth: 'jwt', permission: 'keys:any', body: bulkRotateSchema },
      async (ctx, { body }) => {
        const result = await bulkRotateGatewayKeys(deps, body, auditActor(ctx));
        return {
          rotated: result.rotated.map((r) => ({ ...r.record, key: r.key, previous: r.previous })),
          skipped: result.skipped,
        };
      },
    )
    .route(
      { method: 'get', path: '/api-keys/:id', summary: 'One gateway key (masked)', auth: 'jwt', permission: 'keys:own', params: idParams },
      (ctx, { params }) => getGatewayKey(deps, access(ctx), params.id),
    )
    .route(
      { method: 'patch', path: '/api-keys/:id', summary: 'Change a key’s name, scopes, restrictions or limits', auth: 'jwt', permission: 'keys:own', params: idParams, body: updateKeySchema },
      (ctx, { params, body }) => updateGatewayKey(deps, access(ctx), params.id, body, auditActor(ctx)),
    )
    .route(
      { method: 'delete', path: '/api-keys/:id', summary: 'Revoke a gateway key (every node refuses it within a second)', auth: 'jwt', permission: 'keys:own', params: idParams, query: revokeQuery },
      (ctx, { params, query }) => revokeGatewayKey(deps, access(ctx), params.id, query.reason, auditActor(ctx)),
    )
    .route(
      { method: 'post', path: '/api-keys/:id/rotate', summary: 'Replace a key by a new secret; the old one works for the grace period only', auth: 'jwt', permission: 'keys:own', params: idParams, body: rotateKeySchema, status: 201 },
      async (ctx, { params, body }) => {
        const rotated = await rotateGatewayKey(deps, access(ctx), params.id, body, auditActor(ctx));
        return { ...rotated.record, key: rotated.key, previous: rotated.previous };
      },
    )
    .route(
      { method: 'get', path: '/api-keys/:id/usage', summary: 'Daily usage of one key (requests, tokens, cost, errors)', auth: 'jwt', permission: 'keys:own', params: idParams, query: usageQuery },
      (ctx, { params, query }) => gatewayKeyUsage(deps, access(ctx), params.id, query),
    ).router;
}
