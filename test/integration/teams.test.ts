import { TEST_BACKEND } from '../helpers/backend';
import { createGatewayKey } from '../helpers/keys';
import { startLlmEnv, type LlmTestEnv } from '../helpers/llm';

/** Issue 17 foundation: teams, members, team keys and the team's ceilings on those keys. */
describe(`teams (${TEST_BACKEND})`, () => {
  let env: LlmTestEnv;
  let admin: string;
  let adminId: string;
  type U = { id: string; token: string };
  let lead: U; // team admin of alpha
  let dev: U; // member of alpha
  let outsider: U; // in no team
  let alpha: string;
  let beta: string;

  const req = (path: string, token: string | undefined, method = 'GET', body?: unknown) =>
    env.gw.request(path, { method, token, body });
  const newUser = async (): Promise<U> => {
    const { user, token } = await env.gw.user('developer', undefined, 'enterprise');
    return { id: user.id, token };
  };
  const chat = (key: string, model = 'gpt-4o') =>
    fetch(`${env.gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }], max_tokens: 5 }),
    });

  beforeAll(async () => {
    env = await startLlmEnv();
    admin = env.adminToken;
    const me = (await req('/auth/me', admin)).body;
    adminId = me.user?.id ?? me.id;
    [lead, dev, outsider] = [await newUser(), await newUser(), await newUser()];
    const a = await req('/teams', admin, 'POST', { name: 'Alpha', slug: 'alpha', monthlyBudget: 50, rpm: 100, models: ['gpt-4o*'] });
    expect(a.status).toBe(201);
    alpha = a.body.id;
    beta = (await req('/teams', admin, 'POST', { name: 'Beta', slug: 'beta' })).body.id;
    expect((await req(`/teams/${alpha}/members`, admin, 'POST', { userId: lead.id, role: 'team_admin' })).status).toBe(201);
  });
  afterAll(() => env.close());

  it('lets an admin create, read, change and delete a team, each change audited with the acting admin', async () => {
    const created = await req('/teams', admin, 'POST', { name: 'Gamma', slug: 'gamma', monthlyBudget: 12.5, rpm: 10, tpm: 1000, services: ['openai'], models: null });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ name: 'Gamma', slug: 'gamma', monthlyBudget: 12.5, rpm: 10, tpm: 1000, services: ['openai'], models: null });
    const id = created.body.id;
    expect((await env.gw.deps.db('teams').where({ id }).first()).monthly_budget_micros).toEqual(expect.anything());
    expect((await req('/teams', admin, 'POST', { name: 'Dup', slug: 'gamma' })).status).toBe(409);
    const patched = await req(`/teams/${id}`, admin, 'PATCH', { rpm: null, name: 'Gamma 2' });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ rpm: null, name: 'Gamma 2', tpm: 1000 });
    expect((await req(`/teams/${id}`, admin)).body.name).toBe('Gamma 2');
    expect((await req('/teams', admin)).body.data.map((t: { slug: string }) => t.slug)).toEqual(expect.arrayContaining(['alpha', 'beta', 'gamma']));
    expect((await req(`/teams/${id}`, admin, 'DELETE')).status).toBe(204);
    expect((await req(`/teams/${id}`, admin)).status).toBe(404);
    const audits = await env.gw.deps.db('audit_log').where({ target_type: 'team', target_id: id }).orderBy('id');
    expect(audits.map((r: { action: string }) => r.action)).toEqual(['team.create', 'team.update', 'team.delete']);
    expect(new Set(audits.map((r: { actor_id: string }) => r.actor_id))).toEqual(new Set([adminId]));
  });

  it('lets a team admin add, re-role and remove members of their own team, audited with the team admin as actor', async () => {
    expect((await req(`/teams/${alpha}/members`, lead.token, 'POST', { userId: dev.id, role: 'member' })).status).toBe(201);
    const extra = await newUser();
    expect((await req(`/teams/${alpha}/members`, lead.token, 'POST', { userId: extra.id })).status).toBe(201);
    expect((await req(`/teams/${alpha}/members/${extra.id}`, lead.token, 'PATCH', { role: 'team_admin' })).body.role).toBe('team_admin');
    expect((await req(`/teams/${alpha}/members/${extra.id}`, lead.token, 'DELETE')).status).toBe(204);
    const members = await req(`/teams/${alpha}/members`, lead.token);
    expect(members.body.data.map((m: { userId: string; role: string }) => [m.userId, m.role]).sort()).toEqual(
      [[lead.id, 'team_admin'], [dev.id, 'member']].sort(),
    );
    const actions = await env.gw.deps.db('audit_log').where({ target_type: 'team', target_id: alpha, actor_id: lead.id }).pluck('action');
    expect(actions).toEqual(['team.member_add', 'team.member_add', 'team.member_update', 'team.member_remove']);
    // members see their own teams only
    expect((await req('/teams', dev.token)).body.data.map((t: { slug: string }) => t.slug)).toEqual(['alpha']);
    expect((await req(`/teams/${alpha}`, dev.token)).status).toBe(200);
    expect((await req('/teams', outsider.token)).body.data).toEqual([]);
    expect((await req(`/teams/${alpha}`, outsider.token)).status).toBe(403);
  });

  it('refuses a team admin (403) on another team, on its budget or limits, on wallet secrets and admin-only routes', async () => {
    expect((await req(`/teams/${beta}/members`, lead.token, 'POST', { userId: outsider.id, role: 'member' })).status).toBe(403);
    expect((await req(`/teams/${beta}/members`, lead.token)).status).toBe(403);
    expect((await req(`/teams/${alpha}`, lead.token, 'PATCH', { monthlyBudget: 5000 })).status).toBe(403);
    expect((await req(`/teams/${alpha}`, lead.token, 'PATCH', { rpm: 1_000_000 })).status).toBe(403);
    expect((await req(`/teams/${alpha}`, lead.token, 'PATCH', { models: null })).status).toBe(403);
    expect((await req(`/teams/${alpha}`, lead.token, 'DELETE')).status).toBe(403);
    expect((await req('/teams', lead.token, 'POST', { name: 'Mine', slug: 'mine' })).status).toBe(403);
    expect((await req('/wallet/keys', lead.token)).status).toBe(403);
    expect((await req('/users', lead.token)).status).toBe(403);
    // team roles are team_admin | member: nobody becomes an org admin through a team
    expect((await req(`/teams/${alpha}/members`, lead.token, 'POST', { userId: outsider.id, role: 'admin' })).status).toBe(400);
    expect((await env.gw.deps.db('users').where({ id: outsider.id }).first('role')).role).toBe('developer');
    const team = (await req(`/teams/${alpha}`, admin)).body;
    expect(team).toMatchObject({ monthlyBudget: 50, rpm: 100, models: ['gpt-4o*'] });
    expect(await env.gw.deps.db('team_members').where({ team_id: beta })).toEqual([]);
  });

  it('refuses a plain member to manage members', async () => {
    expect((await req(`/teams/${alpha}/members`, dev.token)).status).toBe(403);
    expect((await req(`/teams/${alpha}/members`, dev.token, 'POST', { userId: outsider.id })).status).toBe(403);
    expect((await req(`/teams/${alpha}/members/${lead.id}`, dev.token, 'PATCH', { role: 'member' })).status).toBe(403);
    expect((await req(`/teams/${alpha}/members/${lead.id}`, dev.token, 'DELETE')).status).toBe(403);
    expect((await env.gw.deps.db('team_members').where({ team_id: alpha, user_id: lead.id }).first()).role).toBe('team_admin');
  });

  it('refuses a team key for a non-member (400), and scopes team key listing and revocation to the team admin', async () => {
    const refused = await req('/api-keys', outsider.token, 'POST', { name: 'x', scopes: ['chat'], teamId: alpha });
    expect(refused.status).toBe(400);
    expect(refused.body.error.message).toContain('teamId');
    expect(await env.gw.deps.db('gateway_keys').where({ user_id: outsider.id })).toEqual([]);
    const devKey = await createGatewayKey(env.gw, dev.token, { teamId: alpha });
    expect(devKey.record.teamId).toBe(alpha);
    const ownKey = await createGatewayKey(env.gw, outsider.token);
    const listed = await req(`/api-keys?teamId=${alpha}`, lead.token);
    expect(listed.status).toBe(200);
    expect(listed.body.data.map((k: { id: string }) => k.id)).toContain(devKey.id);
    expect(listed.body.data.every((k: { teamId: string }) => k.teamId === alpha)).toBe(true);
    expect((await req(`/api-keys?teamId=${beta}`, lead.token)).status).toBe(403);
    expect((await req(`/api-keys?teamId=${alpha}`, dev.token)).status).toBe(403);
    expect((await req(`/api-keys/${ownKey.id}`, lead.token, 'DELETE')).status).toBe(404);
    expect((await env.gw.deps.db('gateway_keys').where({ id: ownKey.id }).first()).status).toBe('active');
    const revoked = await req(`/api-keys/${devKey.id}`, lead.token, 'DELETE');
    expect(revoked.status).toBe(200);
    expect(revoked.body.status).toBe('revoked');
    expect((await chat(devKey.key)).status).toBe(401);
  });

  it("applies the team's model ceiling to its keys (403), a change reaching a warm key at once", async () => {
    const { key } = await createGatewayKey(env.gw, dev.token, { teamId: alpha });
    expect((await chat(key, 'gpt-4o')).status).toBe(200);
    const lookups = env.gw.deps.keys.lookups();
    const refused = await chat(key, 'gpt-4.1');
    expect(refused.status).toBe(403);
    expect(env.gw.deps.keys.lookups()).toBe(lookups); // the team came with the cached key: no database read
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('forbidden');
    expect((await req(`/teams/${alpha}`, admin, 'PATCH', { models: ['claude*'] })).status).toBe(200);
    expect((await chat(key, 'gpt-4o')).status).toBe(403);
    expect((await req(`/teams/${alpha}`, admin, 'PATCH', { models: ['gpt-4o*'] })).status).toBe(200);
  });

  it("caps a team key's rpm by the team's: a ceiling of 1 makes the second call in a minute 429", async () => {
    const t = await req('/teams', admin, 'POST', { name: 'Slow', slug: 'slow', rpm: 1 });
    await req(`/teams/${t.body.id}/members`, admin, 'POST', { userId: dev.id });
    const { key } = await createGatewayKey(env.gw, dev.token, { teamId: t.body.id, limits: { rpm: 100 } });
    expect((await chat(key)).status).toBe(200);
    const second = await chat(key);
    expect(second.status).toBe(429);
    expect(second.headers.get('x-ratelimit-limit-requests')).toBe('1');
  });

  it('answers 401 without credentials and 400 to hostile input, changing nothing', async () => {
    expect((await req('/teams', undefined)).status).toBe(401);
    expect((await req('/teams', undefined, 'POST', { name: 'x', slug: 'x' })).status).toBe(401);
    expect((await req(`/teams/${alpha}/members`, undefined)).status).toBe(401);
    const before = await env.gw.deps.db('teams').count({ n: '*' });
    const hostile = [
      ['/teams', { name: 'a\u0000b', slug: 'nul' }],
      ['/teams', { name: 'x'.repeat(10_000), slug: 'huge' }],
      ['/teams', { name: 'ok', slug: 'Bad Slug' }],
      ['/teams', { name: 'ok', slug: 'ok2', rpm: 0 }],
      ['/teams', { name: 'ok', slug: 'ok3', monthlyBudget: -1 }],
      ['/teams', { name: 'ok', slug: 'ok4', models: ['a\u0000'] }],
      ['/teams', { name: 'ok', slug: 'ok5', extra: 1 }],
      [`/teams/${alpha}/members`, { userId: 'not-a-uuid' }],
      [`/teams/${alpha}/members`, { userId: `${outsider.id}\u0000` }],
    ] as const;
    for (const [path, body] of hostile) {
      const res = await req(path, admin, 'POST', body);
      expect([path, res.status]).toEqual([path, 400]);
      expect(res.body.error.code).toBe('invalid_request');
    }
    expect((await req('/teams/not-a-uuid', admin)).status).toBe(400);
    expect((await req('/teams/not-a-uuid', admin, 'PATCH', { name: 'x' })).status).toBe(400);
    expect((await req(`/teams/${alpha}/members/zzz`, admin, 'DELETE')).status).toBe(400);
    expect((await req('/api-keys?teamId=nope', admin)).status).toBe(400);
    expect((await req('/api-keys', dev.token, 'POST', { name: 'x', scopes: ['chat'], teamId: 'nope' })).status).toBe(400);
    expect(await env.gw.deps.db('teams').count({ n: '*' })).toEqual(before);
  });
});
