import { z } from 'zod';
import type { Deps } from '../deps';
import type { Api } from '../http/api';
import { auditActor } from '../http/context';
import { conflict, notFound } from '../http/errors';
import { importEntries } from '../wallet/import';
import { walletHealth } from '../wallet/health';
import { walletHealthResponse } from '../wallet/health-schema';
import { presentEntry } from '../wallet/presenter';
import { createEntrySchema, importBodySchema, listQuerySchema, reactivateSchema, replaceSecretSchema, updateEntrySchema } from '../wallet/schemas';

const idParams = z.object({ id: z.string().min(1).max(64) });

/** /wallet: provider keys (admin only). Responses are presented entries: masked, never the secret. */
export function walletRoutes(deps: Deps, api: (tag: string) => Api) {
  const { wallet } = deps;
  return api('Wallet')
    .route(
      {
        method: 'post',
        path: '/wallet/keys',
        summary: "Add a provider key (service detected from the key format when omitted; teamId: into that team's own pool)",
        auth: 'jwt',
        permission: 'wallet:write',
        body: createEntrySchema,
        status: 201,
      },
      async (ctx, { body }) => presentEntry(await wallet.create(body, auditActor(ctx))),
    )
    .route(
      { method: 'get', path: '/wallet/keys', summary: "List provider keys (masked); ?status=invalid shows statusReason and invalidAt; ?teamId= one team's pool, ?pool=shared|team", auth: 'jwt', permission: 'wallet:read', query: listQuerySchema },
      async (_ctx, { query }) => ({ data: (await wallet.listFiltered(query)).map((e) => presentEntry(e)) }),
    )
    .route(
      {
        method: 'post',
        path: '/wallet/keys/reactivate',
        summary: 'Re-activate invalid provider keys: {"ids": [...]} or {"service": "..."} (every invalid entry of it); audited one by one',
        auth: 'jwt',
        permission: 'wallet:write',
        body: reactivateSchema,
      },
      async (ctx, { body }) => {
        const { reactivated, skipped } = await wallet.reactivate(body, auditActor(ctx));
        return { reactivated: reactivated.map((e) => presentEntry(e)), skipped };
      },
    )
    .route(
      {
        method: 'post',
        path: '/wallet/keys/:id/reactivate',
        summary: 'Re-activate one invalid provider key (audited); a disabled or active one is left as it is',
        auth: 'jwt',
        permission: 'wallet:write',
        params: idParams,
      },
      async (ctx, { params }) => {
        const { reactivated, skipped } = await wallet.reactivate({ ids: [params.id] }, auditActor(ctx));
        if (skipped[0]?.reason === 'not_found') throw notFound('Wallet entry');
        if (skipped.length) throw conflict(`The wallet entry is ${skipped[0].reason}`);
        return presentEntry(reactivated[0]);
      },
    )
    .route(
      {
        method: 'get',
        path: '/wallet/health',
        summary: 'The wallet at a glance: entries with quota used and cooldown left, counts by status, free/paid share of the last 24 h, rewrap progress',
        auth: 'jwt',
        permission: 'wallet:read',
        response: walletHealthResponse,
      },
      async () => walletHealth(deps),
    )
    .route(
      {
        method: 'get',
        path: '/wallet/keys/:id',
        summary: 'Get a provider key (masked) with its quota used this period',
        auth: 'jwt',
        permission: 'wallet:read',
        params: idParams,
      },
      async (_ctx, { params }) => {
        const { entry, usage } = await wallet.get(params.id);
        return presentEntry(entry, usage);
      },
    )
    .route(
      {
        method: 'patch',
        path: '/wallet/keys/:id',
        summary: "Change label, tier, priority, weight, environment, status, quota, metadata or teamId (the team's own pool; null: shared)",
        auth: 'jwt',
        permission: 'wallet:write',
        params: idParams,
        body: updateEntrySchema,
      },
      async (ctx, { params, body }) => presentEntry(await wallet.update(params.id, body, auditActor(ctx))),
    )
    .route(
      { method: 'delete', path: '/wallet/keys/:id', summary: 'Delete a provider key', auth: 'jwt', permission: 'wallet:write', params: idParams },
      async (ctx, { params }) => {
        await wallet.delete(params.id, auditActor(ctx));
        ctx.status = 204;
      },
    )
    .route(
      {
        method: 'post',
        path: '/wallet/keys/:id/secret',
        summary: 'Replace the secret of a provider key (re-activates an invalid entry)',
        auth: 'jwt',
        permission: 'wallet:write',
        params: idParams,
        body: replaceSecretSchema,
      },
      async (ctx, { params, body }) => presentEntry(await wallet.replaceSecret(params.id, body.secret, auditActor(ctx))),
    )
    .route(
      {
        method: 'post',
        path: '/wallet/import',
        summary: 'Import provider keys: a JSON array of create bodies (each may carry teamId), {"dotenv": "...", "teamId"?: "..."} or text/plain dotenv; one result per entry',
        auth: 'jwt',
        permission: 'wallet:write',
        body: importBodySchema,
      },
      async (ctx, { body }) => importEntries(deps, body, auditActor(ctx)),
    ).router;
}
