import crypto from 'node:crypto';
import jwt from 'jsonwebtoken';
import { startTestGateway, TestGateway, TEST_JWT_SECRET, HttpResult } from '../helpers/gateway';
import { TEST_BACKEND } from '../helpers/backend';
import { createGatewayKey, createUserWithKey } from '../helpers/keys';
import { mountRoutes } from '../../src/routes';
import { Api, Guards } from '../../src/http/api';
import { OpenApiRegistry } from '../../src/http/openapi';
import { can, Permission, Role } from '../../src/auth/permissions';
import { generateGatewayKey } from '../../src/keys/key-format';

/**
 * The shared security suite: every route the OpenAPI document marks as secured is probed with missing,
 * malformed, forged, expired and revoked credentials, and with the wrong role. New routes join automatically.
 */

interface SecuredRoute {
  method: string;
  path: string; // OpenAPI form, /api-keys/{id}
  scheme: 'jwt' | 'gateway';
  permission?: Permission;
}

/** Raw pass-through routes are not in the OpenAPI document (any method, any sub-path): probed explicitly. */
const RAW_GATEWAY_ROUTES: SecuredRoute[] = [
  { method: 'get', path: '/proxy/stripe/v1/charges', scheme: 'gateway' },
  { method: 'post', path: '/proxy/openai/v1/chat/completions', scheme: 'gateway' },
];

/** The permission each route declares, read by mounting the routes once more through a recording Api. */
function declaredPermissions(gw: TestGateway): Map<string, Permission | undefined> {
  const seen = new Map<string, Permission | undefined>();
  const noop = async (_ctx: unknown, next: () => Promise<void>) => next();
  const guards: Guards = { jwt: noop, jwtPendingPasswordChange: noop, gateway: noop, permission: () => noop };
  mountRoutes(gw.deps, (tag) => {
    const api = new Api(new OpenApiRegistry(), guards, tag);
    const route = api.route.bind(api);
    api.route = ((def: { method: string; path: string; permission?: Permission }, handler: never) => {
      seen.set(`${def.method} ${def.path.replace(/:([A-Za-z_]+)/g, '{$1}')}`, def.permission);
      return route(def as never, handler);
    }) as Api['route'];
    return api;
  });
  return seen;
}

/**
 * Routes open to every signed-in user for their own resource, the handler checking ownership (or a
 * permission for anyone else's): a developer asking about another user must get 403.
 */
const OWNER_CHECKED_ROUTES = [
  'get /users/{id}/credits',
  // team routes: the caller's role in THAT team decides (teams/access.ts); org admins hold teams:write
  'get /teams/{id}',
  'get /teams/{id}/members',
  'post /teams/{id}/members',
  'patch /teams/{id}/members/{userId}',
  'delete /teams/{id}/members/{userId}',
  // webhooks: admins (webhooks:write) reach all; a team admin only their own team's (webhooks/service.ts)
  'get /webhooks/{id}',
  'patch /webhooks/{id}',
  'delete /webhooks/{id}',
  'post /webhooks/{id}/secret',
  'post /webhooks/{id}/test',
  'get /webhooks/{id}/deliveries',
  // a team's budget: an org admin, or a team admin of THAT team (teams/budget.ts)
  'get /teams/{id}/budget',
  'put /teams/{id}/budget',
  // admins and analysts read any team's usage, a team admin their own team's (teams/usage.ts)
  'get /teams/{id}/usage',
];
/** Routes every authenticated user may call, scoped in the handler to what is theirs (their own teams). */
const CALLER_SCOPED_ROUTES = ['get /teams', 'get /webhooks', 'post /webhooks'];

const UUID = '6b1f2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d';
const concrete = (path: string, id = UUID) => path.replace(/\{[A-Za-z_]+\}/g, id);
const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');

function expectManagementError(res: HttpResult, status: number, code: string, what: string) {
  if (res.status !== status) throw new Error(`${what}: expected ${status}, got ${res.status} ${res.text.slice(0, 200)}`);
  expect(res.body.error).toEqual(expect.objectContaining({ code, message: expect.any(String), requestId: expect.any(String) }));
}

function expectGatewayRefusal(res: HttpResult, path: string, what: string) {
  if (res.status !== 401) throw new Error(`${what}: expected 401, got ${res.status} ${res.text.slice(0, 200)}`);
  if (path.startsWith('/v1/messages')) {
    expect(res.body).toMatchObject({ type: 'error', error: { type: 'authentication_error', message: expect.any(String) } });
  } else {
    expect(res.body.error).toMatchObject({ code: 'invalid_api_key', type: 'authentication_error', message: expect.any(String) });
  }
}

describe(`security suite over every secured route (${TEST_BACKEND})`, () => {
  let gw: TestGateway;
  let offsetMs = 0;
  let routes: SecuredRoute[];
  let tokens: Record<Role, string>;
  let adminId: string;

  beforeAll(async () => {
    gw = await startTestGateway({ clock: { now: () => Date.now() + offsetMs } });
    const doc = (await gw.request('/openapi.json')).body as { paths: Record<string, Record<string, { security?: Record<string, unknown>[] }>> };
    const permissions = declaredPermissions(gw);
    routes = Object.entries(doc.paths).flatMap(([path, ops]) =>
      Object.entries(ops)
        .filter(([, op]) => op.security?.length)
        .map(([method, op]) => ({
          method,
          path,
          scheme: 'bearerJwt' in op.security![0] ? ('jwt' as const) : ('gateway' as const),
          permission: permissions.get(`${method} ${path}`),
        })),
    );
    routes.push(...RAW_GATEWAY_ROUTES);
    const [admin, developer, analyst] = await Promise.all([gw.user('admin'), gw.user('developer'), gw.user('analyst')]);
    tokens = { admin: admin.token, developer: developer.token, analyst: analyst.token };
    adminId = admin.user.id;
  });
  afterAll(() => gw.close());

  const call = (route: SecuredRoute, headers: Record<string, string>, path = concrete(route.path), body: unknown = {}) =>
    gw.request(path, { method: route.method.toUpperCase(), headers, body: ['get', 'delete'].includes(route.method) ? undefined : body });
  const jwtRoutes = () => routes.filter((r) => r.scheme === 'jwt');
  const gatewayRoutes = () => routes.filter((r) => r.scheme === 'gateway');

  it('finds the management and gateway routes in the OpenAPI document', () => {
    const names = routes.map((r) => `${r.method} ${r.path}`);
    expect(names).toEqual(expect.arrayContaining(['get /auth/me', 'post /api-keys', 'get /users', 'get /audit', 'get /audit/verify']));
    expect(jwtRoutes().length).toBeGreaterThan(10);
  });

  it('puts a permission on every management route outside /auth', () => {
    const missing = jwtRoutes().filter(
      (r) =>
        !r.path.startsWith('/auth/') &&
        !r.permission &&
        !OWNER_CHECKED_ROUTES.includes(`${r.method} ${r.path}`) &&
        !CALLER_SCOPED_ROUTES.includes(`${r.method} ${r.path}`),
    );
    expect(missing.map((r) => `${r.method} ${r.path}`)).toEqual([]);
  });

  it('refuses a developer another user’s resource on routes that check ownership in the handler', async () => {
    for (const name of OWNER_CHECKED_ROUTES) {
      const route = jwtRoutes().find((r) => `${r.method} ${r.path}` === name);
      if (!route) continue;
      // a well-formed body, so the refusal under test is the ownership check, not validation
      const body =
        route.path.endsWith('/budget') ? { budget: 1 }
        : route.method === 'post' && route.path.startsWith('/teams/') ? { userId: adminId, role: 'member' }
        : route.path.startsWith('/teams/') ? { role: 'member' }
        : route.path.startsWith('/webhooks/') ? { enabled: true }
        : {};
      const res = await call(route, { authorization: `Bearer ${tokens.developer}` }, concrete(route.path, adminId), body);
      expectManagementError(res, 403, 'forbidden', `developer on ${name}`);
    }
  });

  it('answers 401 to missing, malformed and forged JWTs on every management route', async () => {
    const now = Math.floor(Date.now() / 1000);
    const claims = { role: 'admin' };
    const opts = { algorithm: 'HS256' as const, subject: adminId, issuer: 'keywallet' };
    const bad: Record<string, Record<string, string>> = {
      'no credential': {},
      'not a JWT': { authorization: 'Bearer not-a-jwt' },
      'basic auth': { authorization: `Basic ${Buffer.from('admin:admin').toString('base64')}` },
      'alg none': { authorization: `Bearer ${b64({ alg: 'none', typ: 'JWT' })}.${b64({ sub: adminId, role: 'admin', iss: 'keywallet', iat: now, exp: now + 600 })}.` },
      'wrong signature': { authorization: `Bearer ${jwt.sign(claims, 'some-other-secret-that-is-long-enough-000', opts)}` },
      'HS512 with the right secret': { authorization: `Bearer ${jwt.sign(claims, TEST_JWT_SECRET, { ...opts, algorithm: 'HS512' })}` },
      expired: { authorization: `Bearer ${jwt.sign({ ...claims, exp: now - 60, iat: now - 3600 }, TEST_JWT_SECRET, opts)}` },
      'wrong issuer': { authorization: `Bearer ${jwt.sign(claims, TEST_JWT_SECRET, { ...opts, issuer: 'someone-else' })}` },
      'unknown user': { authorization: `Bearer ${jwt.sign(claims, TEST_JWT_SECRET, { ...opts, subject: crypto.randomUUID() })}` },
      'a gateway key': { authorization: `Bearer ${generateGatewayKey('live')}` },
    };
    for (const route of jwtRoutes()) {
      for (const [what, headers] of Object.entries(bad)) {
        expectManagementError(await call(route, headers), 401, 'unauthorized', `${route.method} ${route.path} with ${what}`);
      }
    }
  });

  it('answers 401 on every management route to the JWT of a user disabled since it was issued', async () => {
    const victim = await gw.user('admin');
    await gw.deps.db('users').where({ id: victim.user.id }).update({ disabled: true });
    for (const route of jwtRoutes()) {
      expectManagementError(await call(route, { authorization: `Bearer ${victim.token}` }), 401, 'unauthorized', `${route.method} ${route.path}`);
    }
  });

  it('answers 403 to every role the route’s permission leaves out', async () => {
    let checked = 0;
    for (const route of jwtRoutes().filter((r) => r.permission)) {
      for (const role of ['developer', 'analyst'] as Role[]) {
        if (can(role, route.permission!)) continue;
        const res = await call(route, { authorization: `Bearer ${tokens[role]}` });
        expectManagementError(res, 403, 'forbidden', `${role} on ${route.method} ${route.path}`);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(10);
  });

  it('never answers 500 to an admin sending junk to any management route', async () => {
    for (const route of jwtRoutes()) {
      const res = await call(route, { authorization: `Bearer ${tokens.admin}` });
      if (res.status >= 500 || res.status === 401 || res.status === 403) {
        throw new Error(`${route.method} ${route.path} answered ${res.status}: ${res.text.slice(0, 200)}`);
      }
    }
  });

  it('answers 404 to a developer reaching for someone else’s key on every per-key route', async () => {
    const owner = await createUserWithKey(gw);
    const perKey = jwtRoutes().filter((r) => r.path.startsWith('/api-keys/{id}'));
    expect(perKey.length).toBeGreaterThanOrEqual(5);
    for (const route of perKey) {
      // a valid body, so the answer comes from the ownership check rather than validation
      const body = route.method === 'patch' ? { name: 'taken over' } : {};
      const res = await call(route, { authorization: `Bearer ${tokens.developer}` }, concrete(route.path, owner.id), body);
      expectManagementError(res, 404, 'not_found', `${route.method} ${route.path}`);
    }
    await expect(gw.deps.keys.verify(owner.key)).resolves.toBeDefined();
  });

  it('answers 401 on every gateway route to missing, malformed, unknown, revoked, expired and disabled-owner keys', async () => {
    expect(gatewayRoutes().length).toBeGreaterThan(RAW_GATEWAY_ROUTES.length);
    const live = await createUserWithKey(gw);
    const typo = live.key.slice(0, -1) + (live.key.endsWith('a') ? 'b' : 'a');
    const revoked = await createUserWithKey(gw);
    await gw.request(`/api-keys/${revoked.id}`, { method: 'DELETE', token: revoked.token });
    const expiring = await createUserWithKey(gw, 'developer', { expiresAt: new Date(Date.now() + 3_600_000).toISOString() });
    const disabled = await createUserWithKey(gw);
    await gw.request(`/users/${disabled.user.id}`, { method: 'PATCH', token: tokens.admin, body: { disabled: true } });
    const { key: second } = await createGatewayKey(gw, live.token);
    const bad: Record<string, Record<string, string>> = {
      'no credential': {},
      'a short key': { authorization: 'Bearer kw_live_short' },
      'a bad checksum': { authorization: `Bearer ${typo}` },
      'an unknown key': { 'x-api-key': generateGatewayKey('live') },
      'a revoked key (Bearer)': { authorization: `Bearer ${revoked.key}` },
      'a revoked key (x-api-key)': { 'x-api-key': revoked.key },
      'a revoked key (api-key)': { 'api-key': revoked.key },
      'an expired key': { authorization: `Bearer ${expiring.key}` },
      'a disabled owner’s key': { authorization: `Bearer ${disabled.key}` },
      'a management JWT': { authorization: `Bearer ${tokens.admin}` },
    };
    offsetMs = 2 * 3_600_000;
    try {
      for (const route of gatewayRoutes()) {
        for (const [what, headers] of Object.entries(bad)) {
          expectGatewayRefusal(await call(route, headers), route.path, `${route.method} ${route.path} with ${what}`);
        }
        const ok = await call(route, { authorization: `Bearer ${second}` });
        if (ok.status === 401 || ok.status === 500) {
          throw new Error(`${route.method} ${route.path} with a valid key answered ${ok.status}: ${ok.text.slice(0, 200)}`);
        }
      }
    } finally {
      offsetMs = 0;
    }
  });

  it('never wrote a gateway key or a JWT into the logs', () => {
    const logs = gw.logs.join('');
    expect(logs).not.toMatch(/kw_(live|test)_[0-9A-Za-z]{40,}/);
    for (const token of Object.values(tokens)) expect(logs).not.toContain(token);
  });
});
