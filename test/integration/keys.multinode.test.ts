import { startTestGateway, TestGateway } from '../helpers/gateway';
import { createSharedBackend, SharedBackend } from '../helpers/backend';
import { createUserWithKey, keyHeaders } from '../helpers/keys';

/**
 * Two gateway nodes on one PostgreSQL database and one Redis prefix: a change made through node A must be
 * seen by node B, whose cache is warm, within one second (cache invalidation over Redis pub/sub).
 */
describe('gateway keys across two nodes (postgres + redis)', () => {
  let backend: SharedBackend;
  let a: TestGateway;
  let b: TestGateway;
  let admin: { token: string };
  let hasModelsRoute = false;

  beforeAll(async () => {
    backend = await createSharedBackend();
    a = await startTestGateway({ backend });
    b = await startTestGateway({ backend });
    admin = await a.user('admin');
    const doc = await b.request('/openapi.json');
    hasModelsRoute = Boolean(doc.body.paths?.['/v1/models']?.get);
  });
  afterAll(async () => {
    await b?.close();
    await a?.close();
    await backend?.drop();
  });

  /** Polls node B until `refused` holds; returns how long that took after the change on node A. */
  async function msUntil(refused: () => Promise<boolean>, limitMs = 1000): Promise<number> {
    const start = Date.now();
    while (Date.now() - start < limitMs) {
      if (await refused()) return Date.now() - start;
      await new Promise((r) => setTimeout(r, 10));
    }
    throw new Error(`node B did not see the change within ${limitMs} ms`);
  }

  const refusedByB = (key: string) => async () => {
    try {
      await b.deps.keys.verify(key);
      return false;
    } catch (err) {
      return (err as { status?: number }).status === 401;
    }
  };

  it('a key created on A works on B at once', async () => {
    const { key, id } = await createUserWithKey(a);
    expect((await b.deps.keys.verify(key)).principal.keyId).toBe(id);
  });

  it('a key revoked on A is refused by B within one second, though B had it cached', async () => {
    const { key, id, token } = await createUserWithKey(a);
    await b.deps.keys.verify(key);
    const lookups = b.deps.keys.lookups();
    await b.deps.keys.verify(key);
    expect(b.deps.keys.lookups()).toBe(lookups); // warm: B would keep accepting it without the invalidation
    if (hasModelsRoute) expect((await b.request('/v1/models', { headers: keyHeaders.bearer(key) })).status).not.toBe(401);

    expect((await a.request(`/api-keys/${id}`, { method: 'DELETE', token })).status).toBe(200);
    expect(await msUntil(refusedByB(key))).toBeLessThan(1000);
    if (hasModelsRoute) {
      const res = await b.request('/v1/models', { headers: keyHeaders.bearer(key) });
      expect(res.status).toBe(401);
      expect(res.body.error.code).toBe('invalid_api_key');
    }
  });

  it('a rotation on A (no grace) retires the old key on B within one second', async () => {
    const { key, id, token } = await createUserWithKey(a);
    await b.deps.keys.verify(key);
    const rotated = await a.request(`/api-keys/${id}/rotate`, { method: 'POST', token, body: {} });
    expect(rotated.status).toBe(201);
    expect(await msUntil(refusedByB(key))).toBeLessThan(1000);
    expect((await b.deps.keys.verify(rotated.body.key)).principal.keyId).toBe(rotated.body.id);
  });

  it('disabling a user on A stops their key and JWT on B within one second', async () => {
    const { key, user, token } = await createUserWithKey(a);
    await b.deps.keys.verify(key);
    await a.request(`/users/${user.id}`, { method: 'PATCH', token: admin.token, body: { disabled: true } });
    expect(await msUntil(refusedByB(key))).toBeLessThan(1000);
    expect((await b.request('/auth/me', { token })).status).toBe(401);
  });

  it('a scope change on A reaches B’s cached principal within one second', async () => {
    const { key, id, token } = await createUserWithKey(a, 'developer', { scopes: ['chat'] });
    expect((await b.deps.keys.verify(key)).principal.scopes).toEqual(['chat']);
    await a.request(`/api-keys/${id}`, { method: 'PATCH', token, body: { scopes: ['chat', 'proxy'] } });
    const ms = await msUntil(async () => (await b.deps.keys.verify(key)).principal.scopes.includes('proxy'));
    expect(ms).toBeLessThan(1000);
  });
});
