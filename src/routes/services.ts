import { z } from 'zod';
import type { Deps } from '../deps';
import type { Api } from '../http/api';
import { auditActor } from '../http/context';
import { notFound } from '../http/errors';
import { createServiceSchema, presentService, updateServiceSchema } from '../services/service';

const slugParams = z.object({ slug: z.string().min(1).max(64) });

/** /services: the upstreams the gateway knows, how their credentials are injected and how their keys look. */
export function servicesRoutes(deps: Deps, api: (tag: string) => Api) {
  return api('Services')
    .route({ method: 'get', path: '/services', summary: 'List services', auth: 'jwt', permission: 'services:read' }, () => ({
      data: deps.services.list().map(presentService),
    }))
    .route(
      { method: 'get', path: '/services/:slug', summary: 'Get a service', auth: 'jwt', permission: 'services:read', params: slugParams },
      (_ctx, { params }) => {
        const service = deps.services.get(params.slug);
        if (!service) throw notFound(`Service ${params.slug}`);
        return presentService(service);
      },
    )
    .route(
      {
        method: 'post',
        path: '/services',
        summary: 'Add a service (a private base URL needs allowPrivate: true)',
        auth: 'jwt',
        permission: 'services:write',
        body: createServiceSchema,
        status: 201,
      },
      async (ctx, { body }) => presentService(await deps.services.create(body, auditActor(ctx))),
    )
    .route(
      {
        method: 'patch',
        path: '/services/:slug',
        summary: 'Change a service (built-ins too)',
        auth: 'jwt',
        permission: 'services:write',
        params: slugParams,
        body: updateServiceSchema,
      },
      async (ctx, { params, body }) => presentService(await deps.services.update(params.slug, body, auditActor(ctx))),
    )
    .route(
      {
        method: 'delete',
        path: '/services/:slug',
        summary: 'Delete a service that no wallet entry or model alias uses',
        auth: 'jwt',
        permission: 'services:write',
        params: slugParams,
      },
      async (ctx, { params }) => {
        await deps.services.delete(params.slug, auditActor(ctx));
        ctx.status = 204;
      },
    ).router;
}
