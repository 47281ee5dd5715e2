import { z } from 'zod';

export interface DocumentedRoute {
  method: string;
  path: string; // koa style, `/api-keys/:id`
  summary: string;
  tag: string;
  auth: 'none' | 'jwt' | 'gateway';
  body?: z.ZodType;
  query?: z.ZodType;
  response?: z.ZodType;
}

function jsonSchema(schema: z.ZodType): unknown {
  return z.toJSONSchema(schema, { target: 'openapi-3.0', io: 'input', unrepresentable: 'any' });
}

/** Collects the routes as they are declared and renders them as an OpenAPI 3 document from their zod schemas. */
export class OpenApiRegistry {
  private readonly routes: DocumentedRoute[] = [];

  add(route: DocumentedRoute): void {
    this.routes.push(route);
  }

  document(version: string): Record<string, unknown> {
    const paths: Record<string, Record<string, unknown>> = {};
    for (const r of this.routes) {
      const path = r.path.replace(/:([A-Za-z_]+)/g, '{$1}');
      const params = [...r.path.matchAll(/:([A-Za-z_]+)/g)].map((m) => ({ name: m[1], in: 'path', required: true, schema: { type: 'string' } }));
      const query = r.query ? queryParams(r.query) : [];
      const op: Record<string, unknown> = {
        summary: r.summary,
        tags: [r.tag],
        parameters: [...params, ...query],
        responses: {
          '200': { description: 'OK', ...(r.response ? { content: { 'application/json': { schema: jsonSchema(r.response) } } } : {}) },
          default: { description: 'Error', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } },
        },
      };
      if (r.body) op.requestBody = { required: true, content: { 'application/json': { schema: jsonSchema(r.body) } } };
      if (r.auth !== 'none') op.security = r.auth === 'jwt' ? [{ bearerJwt: [] }, { consoleSession: [] }] : [{ gatewayKey: [] }];
      (paths[path] ??= {})[r.method.toLowerCase()] = op;
    }
    return {
      openapi: '3.0.3',
      info: { title: 'Keywallet', version, description: 'Encrypted multi-provider key wallet and routing proxy' },
      paths,
      components: {
        securitySchemes: {
          bearerJwt: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
          consoleSession: {
            type: 'apiKey',
            in: 'cookie',
            name: 'kw_session',
            description: 'the web console’s session (POST /auth/session); state-changing calls also need x-csrf-token',
          },
          gatewayKey: { type: 'http', scheme: 'bearer', description: 'kw_live_… or kw_test_… gateway key' },
        },
        schemas: {
          Error: {
            type: 'object',
            properties: { error: { type: 'object', properties: { code: { type: 'string' }, message: { type: 'string' } } } },
          },
        },
      },
    };
  }
}

function queryParams(schema: z.ZodType): unknown[] {
  const js = jsonSchema(schema) as { properties?: Record<string, unknown>; required?: string[] };
  return Object.entries(js.properties ?? {}).map(([name, s]) => ({
    name,
    in: 'query',
    required: js.required?.includes(name) ?? false,
    schema: s,
  }));
}
