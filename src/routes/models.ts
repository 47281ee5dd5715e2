import type { Deps } from '../deps';
import { importPrices, priceImportSchema } from '../services/price-import';
import type { Api } from '../http/api';
import { auditActor } from '../http/context';
import {
  aliasParams,
  deleteAlias,
  deletePrice,
  listAliases,
  listPrices,
  priceParams,
  putAlias,
  putAliasSchema,
  putPrice,
  putPriceSchema,
} from '../services/models';

/** /models: model aliases (ordered fallback chains) and the token price table. Price routes come first: `prices` is not an alias. */
export function modelsRoutes(deps: Deps, api: (tag: string) => Api) {
  return api('Models')
    .route({ method: 'get', path: '/models/prices', summary: 'List token prices (USD per million tokens)', auth: 'jwt', permission: 'models:read' }, async () => ({
      data: await listPrices(deps.db),
    }))
    .route(
      {
        method: 'put',
        path: '/models/prices/:model',
        summary: 'Set the price of a model, or of every model with a prefix ending in "*"',
        auth: 'jwt',
        permission: 'models:write',
        params: priceParams,
        body: putPriceSchema,
      },
      async (ctx, { params, body }) => {
        const { price, created } = await putPrice(deps, params.model, body, auditActor(ctx));
        ctx.status = created ? 201 : 200;
        ctx.body = price;
      },
    )
    .route(
      {
        method: 'post',
        path: '/models/prices/import',
        summary: 'Import prices from a price file ({"prices": [...]}, all or nothing): one new price version',
        auth: 'jwt',
        permission: 'models:write',
        body: priceImportSchema,
      },
      async (ctx, { body }) => importPrices(deps, body, auditActor(ctx)),
    )
    .route(
      { method: 'delete', path: '/models/prices/:model', summary: 'Remove a price', auth: 'jwt', permission: 'models:write', params: priceParams },
      async (ctx, { params }) => {
        await deletePrice(deps, params.model, auditActor(ctx));
        ctx.status = 204;
      },
    )
    .route({ method: 'get', path: '/models', summary: 'List model aliases', auth: 'jwt', permission: 'models:read' }, async () => ({
      data: await listAliases(deps.db),
    }))
    .route(
      {
        method: 'put',
        path: '/models/:alias',
        summary: 'Create or replace a model alias: an ordered fallback chain of {service, model}',
        auth: 'jwt',
        permission: 'models:write',
        params: aliasParams,
        body: putAliasSchema,
      },
      async (ctx, { params, body }) => {
        const { alias, created } = await putAlias(deps, params.alias, body, auditActor(ctx));
        ctx.status = created ? 201 : 200;
        ctx.body = alias;
      },
    )
    .route(
      { method: 'delete', path: '/models/:alias', summary: 'Delete a model alias', auth: 'jwt', permission: 'models:write', params: aliasParams },
      async (ctx, { params }) => {
        await deleteAlias(deps, params.alias, auditActor(ctx));
        ctx.status = 204;
      },
    ).router;
}
