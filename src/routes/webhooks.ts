import type { Deps } from '../deps';
import type { Api } from '../http/api';
import { AppContext, auditActor } from '../http/context';
import {
  createWebhookSchema, deliveriesQuery, listWebhooksQuery, updateWebhookSchema, webhookIdParams,
} from '../webhooks/schemas';
import {
  createWebhook, deleteWebhook, getWebhook, listDeliveries, listWebhooks, rotateWebhookSecret, testWebhook, updateWebhook, WebhookContext,
} from '../webhooks/service';

const user = (ctx: AppContext) => ctx.state.user!;

/**
 * /webhooks: where alerts go. Admins manage every webhook; a team admin the webhooks of their own team (checked in
 * the handler: the caller's role in THAT team decides). The signing secret is in the answer of POST /webhooks and
 * POST /webhooks/:id/secret only.
 */
export function webhooksRoutes(deps: Deps, api: (tag: string) => Api) {
  const c: WebhookContext = { db: deps.db, clock: deps.clock, sealer: deps.wallet.sealer, deliverer: deps.webhooks };
  return api('Webhooks')
    .route(
      { method: 'post', path: '/webhooks', summary: 'Add a webhook (answers with its signing secret, once)', auth: 'jwt', body: createWebhookSchema, status: 201 },
      (ctx, { body }) => createWebhook(c, user(ctx), body, auditActor(ctx)),
    )
    .route(
      { method: 'get', path: '/webhooks', summary: 'List webhooks (admins: all; team admins: their teams’)', auth: 'jwt', query: listWebhooksQuery },
      (ctx, { query }) => listWebhooks(c, user(ctx), query),
    )
    .route(
      { method: 'get', path: '/webhooks/:id', summary: 'One webhook (never its secret)', auth: 'jwt', params: webhookIdParams },
      (ctx, { params }) => getWebhook(c, user(ctx), params.id),
    )
    .route(
      { method: 'patch', path: '/webhooks/:id', summary: 'Change a webhook’s URL, events, description or enabled flag', auth: 'jwt', params: webhookIdParams, body: updateWebhookSchema },
      (ctx, { params, body }) => updateWebhook(c, user(ctx), params.id, body, auditActor(ctx)),
    )
    .route(
      { method: 'delete', path: '/webhooks/:id', summary: 'Delete a webhook and its delivery log', auth: 'jwt', params: webhookIdParams },
      async (ctx, { params }) => {
        await deleteWebhook(c, user(ctx), params.id, auditActor(ctx));
        ctx.status = 204;
      },
    )
    .route(
      { method: 'post', path: '/webhooks/:id/secret', summary: 'Replace the signing secret (answers with the new one, once)', auth: 'jwt', params: webhookIdParams },
      (ctx, { params }) => rotateWebhookSecret(c, user(ctx), params.id, auditActor(ctx)),
    )
    .route(
      { method: 'post', path: '/webhooks/:id/test', summary: 'Send a signed sample event now; answers with the delivery after its first attempt', auth: 'jwt', params: webhookIdParams },
      (ctx, { params }) => testWebhook(c, user(ctx), params.id, auditActor(ctx)),
    )
    .route(
      { method: 'get', path: '/webhooks/:id/deliveries', summary: 'The delivery log: deliveries newest first, each with its attempts', auth: 'jwt', params: webhookIdParams, query: deliveriesQuery },
      (ctx, { params, query }) => listDeliveries(c, user(ctx), params.id, query),
    ).router;
}
