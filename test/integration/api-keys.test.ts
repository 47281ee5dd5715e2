import { Command } from 'commander';
import { startTestGateway, TestGateway } from '../helpers/gateway';
import { TEST_BACKEND } from '../helpers/backend';
import { createGatewayKey, createUserWithKey } from '../helpers/keys';
import { hashGatewayKey, parseGatewayKey } from '../../src/keys/key-format';
import { registerKeysCommands } from '../../scripts/commands/keys';
import type { WithDeps } from '../../scripts/cli';

describe(`/api-keys (${TEST_BACKEND})`, () => {
  let gw: TestGateway;
  let offsetMs = 0;
  let admin: { token: string; user: { id: string } };
  let dev: { token: string; user: { id: string; email: string } };
  const issued: string[] = [];

  beforeAll(async () => {
    gw = await startTestGateway({ clock: { now: () => Date.now() + offsetMs } });
    admin = await gw.user('admin');
    dev = await gw.user('developer');
  });
  afterAll(() => gw.close());

  const create = async (token: string, body: Record<string, unknown> = {}) => {
    const made = await createGatewayKey(gw, token, body);
    issued.push(made.key);
    return made;
  };

  it('returns the plaintext once, stores only its hash, and shows it masked afterwards', async () => {
    const res = await gw.request('/api-keys', {
      token: dev.token,
      body: { name: 'laptop', environment: 'live', scopes: ['chat', 'models'], monthlyCredits: 2.5, limits: { rpm: 10 } },
    });
    expect(res.status).toBe(201);
    const { key, ...record } = res.body;
    issued.push(key);
    expect(parseGatewayKey(key)).toEqual({ env: 'live' });
    expect(record).toMatchObject({
      name: 'laptop', userId: dev.user.id, environment: 'live', scopes: ['chat', 'models'], monthlyCredits: 2.5,
      limits: { rpm: 10 }, status: 'active', maskedKey: `kw_live_…${key.slice(-4)}`, rotatedFrom: null, replacedBy: null,
    });
    expect(record).not.toHaveProperty('keyHash');
    const row = await gw.deps.db('gateway_keys').where({ id: record.id }).first();
    expect(row.key_hash).toBe(hashGatewayKey(key));
    expect(row.monthly_credits_micros).toBe(2_500_000);
    expect(JSON.stringify(row)).not.toContain(key);
    const again = await gw.request(`/api-keys/${record.id}`, { token: dev.token });
    expect(again.status).toBe(200);
    expect(again.text).not.toContain(key);
    expect(again.text).not.toContain(row.key_hash);
    expect(again.body.maskedKey).toBe(record.maskedKey);
  });

  it('creates kw_test_ keys for the test environment', async () => {
    const { key, record } = await create(dev.token, { environment: 'test' });
    expect(key.startsWith('kw_test_')).toBe(true);
    expect(record.maskedKey.startsWith('kw_test_…')).toBe(true);
  });

  it.each([
    ['no scopes', { scopes: [] }, 'scopes'],
    ['an unknown scope', { scopes: ['admin'] }, 'scopes'],
    ['a bad CIDR', { allowedIps: ['10.0.0.0/40'] }, 'allowedIps'],
    ['a bad referrer', { allowedReferrers: ['ftp://x y'] }, 'allowedReferrers'],
    ['a past expiry', { expiresAt: '2001-01-01T00:00:00Z' }, 'expiresAt'],
    ['an unknown service', { services: ['nope'] }, 'services'],
    ['negative credits', { monthlyCredits: -1 }, 'monthlyCredits'],
  ])('refuses %s with 400 naming the field', async (_what, body, field) => {
    const res = await gw.request('/api-keys', { token: dev.token, body: { name: 'x', scopes: ['chat'], ...body } });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('invalid_request');
    expect(JSON.stringify(res.body.error)).toContain(field);
  });

  it('lets a developer create keys only for themselves, and an admin for anyone', async () => {
    const other = await gw.user('developer');
    const denied = await gw.request('/api-keys', { token: dev.token, body: { name: 'x', scopes: ['chat'], userId: other.user.id } });
    expect(denied.status).toBe(403);
    const made = await create(admin.token, { userId: other.user.id });
    expect(made.record.userId).toBe(other.user.id);
  });

  it('lists own keys for a developer and everyone’s (or ?userId=) for an admin', async () => {
    const other = await createUserWithKey(gw);
    issued.push(other.key);
    const mine = await gw.request('/api-keys?limit=500', { token: dev.token });
    expect(mine.status).toBe(200);
    expect(mine.body.data.length).toBeGreaterThan(0);
    expect(mine.body.data.every((k: any) => k.userId === dev.user.id)).toBe(true);
    expect(mine.body.total).toBe(mine.body.data.length);
    expect((await gw.request(`/api-keys?userId=${other.user.id}`, { token: dev.token })).status).toBe(403);
    const theirs = await gw.request(`/api-keys?userId=${other.user.id}`, { token: admin.token });
    expect(theirs.body.data.map((k: any) => k.id)).toEqual([other.id]);
    const all = await gw.request('/api-keys?limit=2&offset=0', { token: admin.token });
    expect(all.body.data).toHaveLength(2);
    expect(all.body.total).toBeGreaterThan(2);
    const page2 = await gw.request('/api-keys?limit=2&offset=2', { token: admin.token });
    expect(page2.body.data[0].id).not.toBe(all.body.data[0].id);
  });

  it('answers 404 for someone else’s key on every per-key route', async () => {
    const other = await createUserWithKey(gw);
    issued.push(other.key);
    const attempts = [
      gw.request(`/api-keys/${other.id}`, { token: dev.token }),
      gw.request(`/api-keys/${other.id}`, { method: 'PATCH', token: dev.token, body: { name: 'mine now' } }),
      gw.request(`/api-keys/${other.id}`, { method: 'DELETE', token: dev.token }),
      gw.request(`/api-keys/${other.id}/rotate`, { method: 'POST', token: dev.token, body: {} }),
      gw.request(`/api-keys/${other.id}/usage`, { token: dev.token }),
      gw.request('/api-keys/not-a-uuid', { token: dev.token }),
    ];
    for (const res of await Promise.all(attempts)) {
      expect(res.status).toBe(404);
      expect(res.body.error.code).toBe('not_found');
    }
    await expect(gw.deps.keys.verify(other.key)).resolves.toBeDefined();
    expect((await gw.deps.db('gateway_keys').where({ id: other.id }).first()).name).toBe('test key');
  });

  it('patches restrictions, and the verifier sees them at once', async () => {
    const { key, id } = await create(dev.token, { scopes: ['chat'] });
    expect((await gw.deps.keys.verify(key)).principal.scopes).toEqual(['chat']);
    const res = await gw.request(`/api-keys/${id}`, {
      method: 'PATCH', token: dev.token, body: { name: 'renamed', scopes: ['chat', 'proxy'], services: ['openai'], models: ['gpt-4o*'] },
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ name: 'renamed', scopes: ['chat', 'proxy'], services: ['openai'], models: ['gpt-4o*'] });
    const { principal } = await gw.deps.keys.verify(key);
    expect(principal).toMatchObject({ scopes: ['chat', 'proxy'], services: ['openai'], models: ['gpt-4o*'] });
    const cleared = await gw.request(`/api-keys/${id}`, { method: 'PATCH', token: dev.token, body: { services: null } });
    expect(cleared.body.services).toBeNull();
    expect((await gw.request(`/api-keys/${id}`, { method: 'PATCH', token: dev.token, body: {} })).status).toBe(400);
  });

  it('revokes idempotently, and refuses changes to a revoked key', async () => {
    const { key, id } = await create(dev.token);
    const res = await gw.request(`/api-keys/${id}?reason=leaked`, { method: 'DELETE', token: dev.token });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: 'revoked', revokedReason: 'leaked' });
    await expect(gw.deps.keys.verify(key)).rejects.toMatchObject({ status: 401 });
    expect((await gw.request(`/api-keys/${id}`, { method: 'DELETE', token: dev.token })).body.status).toBe('revoked');
    expect(await gw.deps.db('audit_log').where({ action: 'api_key.revoke', target_id: id }).count({ n: '*' })).toEqual([{ n: 1 }]);
    expect((await gw.request(`/api-keys/${id}`, { method: 'PATCH', token: dev.token, body: { name: 'x' } })).status).toBe(409);
    expect((await gw.request(`/api-keys/${id}/rotate`, { method: 'POST', token: dev.token, body: {} })).status).toBe(409);
  });

  it('rotates without grace: the old key stops at once, the new one inherits everything', async () => {
    const old = await create(dev.token, { scopes: ['proxy'], services: ['stripe'], limits: { rpm: 3 } });
    const res = await gw.request(`/api-keys/${old.id}/rotate`, { method: 'POST', token: dev.token, body: { reason: 'routine' } });
    expect(res.status).toBe(201);
    issued.push(res.body.key);
    expect(res.body).toMatchObject({ rotatedFrom: old.id, scopes: ['proxy'], services: ['stripe'], limits: { rpm: 3 }, status: 'active' });
    expect(res.body.previous).toMatchObject({ id: old.id, status: 'revoked', replacedBy: res.body.id });
    await expect(gw.deps.keys.verify(old.key)).rejects.toMatchObject({ status: 401 });
    expect((await gw.deps.keys.verify(res.body.key)).principal.keyId).toBe(res.body.id);
  });

  it('rotates with a grace period: the old key works until it ends, and cannot be rotated twice', async () => {
    const old = await create(dev.token);
    const res = await gw.request(`/api-keys/${old.id}/rotate`, { method: 'POST', token: dev.token, body: { gracePeriodSeconds: 600 } });
    expect(res.status).toBe(201);
    issued.push(res.body.key);
    expect(res.body.previous.status).toBe('active');
    expect(Date.parse(res.body.previous.expiresAt)).toBeGreaterThan(Date.now() + 590_000);
    await expect(gw.deps.keys.verify(old.key)).resolves.toBeDefined();
    expect((await gw.request(`/api-keys/${old.id}/rotate`, { method: 'POST', token: dev.token, body: {} })).status).toBe(409);
    expect((await gw.request('/api-keys/' + old.id + '/rotate', { method: 'POST', token: dev.token, body: { gracePeriodSeconds: 8 * 86400 } })).status).toBe(400);
    offsetMs = 601_000;
    try {
      await expect(gw.deps.keys.verify(old.key)).rejects.toMatchObject({ message: 'This API key has expired' });
      await expect(gw.deps.keys.verify(res.body.key)).resolves.toBeDefined();
    } finally {
      offsetMs = 0;
    }
  });

  it('bulk-rotates a user’s keys or a list of ids (admins only)', async () => {
    const owner = await gw.user('developer');
    const a = await create(owner.token);
    const b = await create(owner.token);
    expect((await gw.request('/api-keys/rotate', { token: dev.token, body: { userId: owner.user.id } })).status).toBe(403);
    const byUser = await gw.request('/api-keys/rotate', { token: admin.token, body: { userId: owner.user.id, gracePeriodSeconds: 60 } });
    expect(byUser.status).toBe(200);
    expect(byUser.body.rotated.map((r: any) => r.rotatedFrom).sort()).toEqual([a.id, b.id].sort());
    byUser.body.rotated.forEach((r: any) => issued.push(r.key));
    const missing = '00000000-0000-4000-8000-000000000000';
    const byIds = await gw.request('/api-keys/rotate', { token: admin.token, body: { ids: [a.id, byUser.body.rotated[0].id, missing] } });
    expect(byIds.body.rotated).toHaveLength(1);
    issued.push(byIds.body.rotated[0].key);
    expect(byIds.body.skipped).toEqual(
      expect.arrayContaining([{ id: a.id, reason: 'the key has already been rotated' }, { id: missing, reason: 'not found' }]),
    );
    expect((await gw.request('/api-keys/rotate', { token: admin.token, body: {} })).status).toBe(400);
  });

  it('reads a key’s daily usage from the rollups within from/to', async () => {
    const { id } = await create(dev.token);
    const row = (day: string, model: string, requests: number, errors: number, cost: number) => ({
      day, gateway_key_id: id, user_id: dev.user.id, service: 'openai', model, requests, errors,
      prompt_tokens: requests * 10, completion_tokens: requests * 5, cost_micros: cost, latency_ms_sum: requests * 100,
    });
    await gw.deps.db('usage_daily').insert([
      row('2030-01-01', 'gpt-4o', 3, 1, 1500), row('2030-01-01', 'gpt-5', 1, 0, 500), row('2030-01-03', 'gpt-4o', 2, 0, 2_000_000),
      row('2030-02-01', 'gpt-4o', 9, 0, 9),
    ]);
    const res = await gw.request(`/api-keys/${id}/usage?from=2030-01-01&to=2030-01-31`, { token: dev.token });
    expect(res.status).toBe(200);
    expect(res.body.days).toEqual([
      { day: '2030-01-01', requests: 4, errors: 1, promptTokens: 40, completionTokens: 20, costMicros: 2000, cost: 0.002, avgLatencyMs: 100 },
      { day: '2030-01-03', requests: 2, errors: 0, promptTokens: 20, completionTokens: 10, costMicros: 2_000_000, cost: 2, avgLatencyMs: 100 },
    ]);
    expect(res.body.totals).toEqual({ requests: 6, errors: 1, promptTokens: 60, completionTokens: 30, costMicros: 2_002_000, cost: 2.002 });
    expect((await gw.request(`/api-keys/${id}/usage?from=2030-02-01&to=2030-01-01`, { token: dev.token })).status).toBe(400);
    expect((await gw.request(`/api-keys/${id}/usage?from=yesterday`, { token: dev.token })).status).toBe(400);
    expect((await gw.request(`/api-keys/${id}/usage`, { token: dev.token })).body.days).toEqual([]);
  });

  it('keeps analysts out of gateway keys', async () => {
    const analyst = await gw.user('analyst');
    expect((await gw.request('/api-keys', { token: analyst.token })).status).toBe(403);
  });

  it('audits every change with presented before/after and never a key or hash', async () => {
    const { id } = await create(dev.token);
    await gw.request(`/api-keys/${id}`, { method: 'PATCH', token: dev.token, body: { name: 'audited' } });
    const rows = await gw.deps.db('audit_log').where({ target_id: id }).orderBy('id');
    expect(rows.map((r) => r.action)).toEqual(['api_key.create', 'api_key.update']);
    expect(rows[1].actor_id).toBe(dev.user.id);
    expect(rows[1].before.name).toBe('test key');
    expect(rows[1].after.name).toBe('audited');
    const everything = JSON.stringify(await gw.deps.db('audit_log').select('before', 'after'));
    const hashes = await gw.deps.db('gateway_keys').pluck('key_hash');
    for (const secret of [...issued, ...hashes]) expect(everything).not.toContain(secret);
  });

  it('drives the same lifecycle from the CLI', async () => {
    const out: string[] = [];
    const spy = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: any) => (out.push(String(chunk)), true));
    const err = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
    const withDeps: WithDeps = (fn) => fn(gw.deps);
    const run = (...args: string[]) => {
      const program = new Command().exitOverride();
      registerKeysCommands(program, withDeps);
      return program.parseAsync(['node', 'keywallet', ...args]);
    };
    try {
      await run('keys', 'create', '--email', dev.user.email, '--name', 'from-cli', '--env', 'test', '--scopes', 'chat,proxy');
      const key = out.join('').split('\n').find((l) => l.startsWith('kw_test_'))!;
      issued.push(key);
      const { principal } = await gw.deps.keys.verify(key);
      expect(principal).toMatchObject({ userId: dev.user.id, environment: 'test', scopes: ['chat', 'proxy'] });
      out.length = 0;
      await run('keys', 'list', '--email', dev.user.email);
      expect(out.join('')).toContain('from-cli');
      expect(out.join('')).not.toContain(key);
      out.length = 0;
      await run('keys', 'rotate', principal.keyId, '--grace', '30');
      const rotated = out.join('').split('\n').find((l) => l.startsWith('kw_test_'))!;
      issued.push(rotated);
      await expect(gw.deps.keys.verify(rotated)).resolves.toBeDefined();
      await run('keys', 'revoke', principal.keyId);
      await expect(gw.deps.keys.verify(key)).rejects.toMatchObject({ status: 401 });
      await expect(run('keys', 'create', '--email', dev.user.email, '--name', 'x', '--scopes', 'root')).rejects.toThrow(/scopes/);
    } finally {
      spy.mockRestore();
      err.mockRestore();
    }
  });

  it('never writes a gateway key into the logs', () => {
    const logs = gw.logs.join('');
    expect(issued.length).toBeGreaterThan(10);
    for (const key of issued) expect(logs).not.toContain(key);
  });
});
