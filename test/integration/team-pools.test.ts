import { Command } from 'commander';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { TEST_BACKEND } from '../helpers/backend';
import { startTestGateway, TestGateway } from '../helpers/gateway';
import { createGatewayKey } from '../helpers/keys';
import { addEntry, createService, uniqueSlug } from '../helpers/routing';
import { startRestMock, MockUpstream } from '../mocks';
import { startLlmEnv } from '../helpers/llm';
import { fakeSecret } from '../helpers/fake-secrets';
import { registerWalletCommands } from '../../scripts/commands/wallet';
import type { WithDeps } from '../../scripts/cli';

/**
 * Issue 17, team wallet pools: a team key tries its team's own entries first and falls back to the shared pool
 * (teamId null) unless the team keeps to its own pool; a key in no team, or in another team, never reaches a team's
 * entries. The mock upstream records the credential of every call, which proves which entry served it.
 */
describe(`team wallet pools (${TEST_BACKEND})`, () => {
  let gw: TestGateway;
  let mock: MockUpstream;
  let admin: string;
  let alpha: string;
  let beta: string;
  let keyAlpha: string;
  let keyBeta: string;
  let keyNone: string;
  let leadAlpha: string; // team admin of alpha

  const req = (p: string, token: string | undefined, method = 'GET', body?: unknown) => gw.request(p, { method, token, body });
  const call = (slug: string, key: string) => gw.request(`/proxy/${slug}/v1/things`, { headers: { authorization: `Bearer ${key}` } });
  const credentials = () => mock.requests.map((r) => r.credential);
  const served = (res: { headers: Headers }) => res.headers.get('x-keywallet-provider-key');

  async function member(team: string, role: 'member' | 'team_admin' = 'member') {
    const { user, token } = await gw.user('developer', undefined, 'enterprise');
    expect((await req(`/teams/${team}/members`, admin, 'POST', { userId: user.id, role })).status).toBe(201);
    return { user, token, key: (await createGatewayKey(gw, token, { teamId: team })).key };
  }

  /** shared (free, priority 1: what every key in no team gets), alpha's own (paid, priority 50), beta's own (priority 0) */
  async function pools() {
    const slug = uniqueSlug('pool');
    await createService(gw, admin, { slug, baseUrl: mock.url });
    const shared = await addEntry(gw, admin, { service: slug, tier: 'free', priority: 1, label: 'shared' });
    const a = await addEntry(gw, admin, { service: slug, tier: 'paid', priority: 50, label: 'alpha own', teamId: alpha });
    const b = await addEntry(gw, admin, { service: slug, tier: 'free', priority: 0, label: 'beta own', teamId: beta });
    return { slug, shared, a, b };
  }

  beforeAll(async () => {
    gw = await startTestGateway();
    mock = await startRestMock();
    admin = (await gw.user('admin')).token;
    alpha = (await req('/teams', admin, 'POST', { name: 'Alpha', slug: 'alpha' })).body.id;
    beta = (await req('/teams', admin, 'POST', { name: 'Beta', slug: 'beta' })).body.id;
    keyAlpha = (await member(alpha)).key;
    keyBeta = (await member(beta)).key;
    const lead = await member(alpha, 'team_admin');
    leadAlpha = lead.token;
    const outsider = await gw.user('developer', undefined, 'enterprise');
    keyNone = (await createGatewayKey(gw, outsider.token)).key;
  }, 120_000);
  afterAll(async () => {
    await gw.close();
    await mock.close();
  });
  beforeEach(() => mock.reset());

  it("serves a team key from the team's own entry first, whatever the shared pool's tier and priority", async () => {
    const { slug, a, b, shared } = await pools();
    for (let i = 0; i < 3; i++) expect(served(await call(slug, keyAlpha))).toBe(a.id);
    expect(served(await call(slug, keyBeta))).toBe(b.id);
    expect(served(await call(slug, keyNone))).toBe(shared.id);
    expect(credentials()).toEqual([a.secret, a.secret, a.secret, b.secret, shared.secret]);
  });

  it("falls back from the team's own entry to the shared pool, never to another team's", async () => {
    const { slug, a, b, shared } = await pools();
    mock.fail({ kind: 'status', status: 503 }, { credential: a.secret });
    const res = await call(slug, keyAlpha);
    expect(res.status).toBe(200);
    expect(served(res)).toBe(shared.id);
    expect(res.headers.get('x-keywallet-attempts')).toBe('2');
    expect(credentials()).toEqual([a.secret, shared.secret]);
    expect(credentials()).not.toContain(b.secret);
    // the usage event names the entry that served and the key's team
    const id = res.headers.get('x-request-id')!;
    await gw.deps.usage.flush();
    expect(await gw.deps.db('usage_events').where({ request_id: id }).first('wallet_entry_id', 'team_id')).toEqual({ wallet_entry_id: shared.id, team_id: alpha });
  });

  it("never routes a key in no team to a team's entries, even with the shared pool down", async () => {
    const { slug, a, b, shared } = await pools();
    mock.fail({ kind: 'status', status: 503 }, { credential: shared.secret });
    const res = await call(slug, keyNone);
    expect(res.status).toBe(502);
    expect(res.headers.get('x-keywallet-attempts')).toBe('1');
    expect(credentials()).toEqual([shared.secret]);
    // the refusal says nothing of the teams' entries
    expect(res.text).not.toContain(a.id);
    expect(res.text).not.toContain(b.id);
    expect(res.headers.get('x-keywallet-route')).toBe(`${shared.id.slice(0, 8)}:server_error; 1 candidate`);
  });

  it('keeps an own-pool-only team off the shared pool: its own entry failing is a 502, its own pool empty a 503', async () => {
    const { slug, a, shared } = await pools();
    const gamma = (await req('/teams', admin, 'POST', { name: 'Gamma', slug: uniqueSlug('gamma'), ownPoolOnly: true })).body;
    expect(gamma.ownPoolOnly).toBe(true);
    const keyGamma = (await member(gamma.id)).key;
    const own = await addEntry(gw, admin, { service: slug, label: 'gamma own', priority: 90, teamId: gamma.id });
    mock.fail({ kind: 'status', status: 503 }, { credential: own.secret });
    const failed = await call(slug, keyGamma);
    expect(failed.status).toBe(502);
    expect(credentials()).toEqual([own.secret]);

    // switched off again: the shared pool is its fallback at once (the team change reaches the cached keys)
    expect((await req(`/teams/${gamma.id}`, admin, 'PATCH', { ownPoolOnly: false })).body.ownPoolOnly).toBe(false);
    mock.reset();
    const fellBack = await call(slug, keyGamma); // its own entry is cooling down after that 503
    expect(served(fellBack)).toBe(shared.id);
    expect(credentials()).toEqual([shared.secret]);

    // back on, and its only entry disabled: nothing to route to, and alpha's entry is never borrowed
    await req(`/teams/${gamma.id}`, admin, 'PATCH', { ownPoolOnly: true });
    await req(`/wallet/keys/${own.id}`, admin, 'PATCH', { status: 'disabled' });
    mock.reset();
    const none = await call(slug, keyGamma);
    expect(none.status).toBe(503);
    expect(none.body.error.code).toBe('no_provider_key');
    expect(credentials()).toEqual([]);
    expect(none.text).not.toContain(a.id);
  });

  it('explains the pools: the team first, the shared pool as its fallback, other teams excluded with their reason', async () => {
    const { slug, a, b, shared } = await pools();
    const forAlpha = await req(`/routing/explain?service=${slug}&teamId=${alpha}`, admin);
    expect(forAlpha.status).toBe(200);
    expect(forAlpha.body.team).toEqual({ id: alpha, ownPoolOnly: false });
    expect(forAlpha.body.candidates.map((c: { id: string }) => c.id)).toEqual([a.id, shared.id]);
    expect(forAlpha.body.candidates[0].why).toMatch(/^the team's own pool, paid tier/);
    expect(forAlpha.body.candidates[1].why).toMatch(/^shared pool \(fallback/);
    expect(forAlpha.body.excluded).toEqual([{ id: b.id, label: 'beta own', reason: 'other_team_pool' }]);

    const noTeam = await req(`/routing/explain?service=${slug}`, admin);
    expect(noTeam.body.team).toBeNull();
    expect(noTeam.body.candidates.map((c: { id: string }) => c.id)).toEqual([shared.id]);
    expect(noTeam.body.candidates[0].why).toBe('free tier, priority 1'); // as before teams
    expect(noTeam.body.excluded.map((x: { id: string; reason: string }) => [x.id, x.reason]).sort()).toEqual(
      [[a.id, 'other_team_pool'], [b.id, 'other_team_pool']].sort(),
    );

    const gamma = (await req('/teams', admin, 'POST', { name: 'G', slug: uniqueSlug('g'), ownPoolOnly: true })).body.id;
    const ownOnly = await req(`/routing/explain?service=${slug}&teamId=${gamma}`, admin);
    expect(ownOnly.body.candidates).toEqual([]);
    expect(ownOnly.body.excluded).toEqual(expect.arrayContaining([{ id: shared.id, label: 'shared', reason: 'team_own_pool_only' }]));

    expect((await req(`/routing/explain?service=${slug}&teamId=00000000-0000-4000-8000-000000000000`, admin)).status).toBe(400);
    expect((await req(`/routing/explain?service=${slug}&teamId=nope`, admin)).status).toBe(400);
    expect((await req(`/routing/explain?service=${slug}&teamId=${alpha}`, leadAlpha)).status).toBe(403);
  });

  it('lets an admin set, change and filter by teamId through the API; bad input is a 400 that changes nothing', async () => {
    const { slug, a, shared } = await pools();
    const listed = async (q: string) => (await req(`/wallet/keys?service=${slug}&${q}`, admin)).body.data.map((e: { id: string }) => e.id);
    expect(await listed(`teamId=${alpha}`)).toEqual([a.id]);
    expect(await listed('pool=shared')).toEqual([shared.id]);
    expect((await listed('pool=team')).sort()).toHaveLength(2);
    expect((await req(`/wallet/keys/${a.id}`, admin)).body.teamId).toBe(alpha);

    const moved = await req(`/wallet/keys/${shared.id}`, admin, 'PATCH', { teamId: beta });
    expect(moved.status).toBe(200);
    expect(moved.body.teamId).toBe(beta);
    expect((await call(slug, keyNone)).status).toBe(503); // no shared entry left
    expect((await req(`/wallet/keys/${shared.id}`, admin, 'PATCH', { teamId: null })).body.teamId).toBeNull();
    expect(served(await call(slug, keyNone))).toBe(shared.id);
    const audit = await gw.deps.db('audit_log').where({ action: 'wallet.update', target_id: shared.id }).orderBy('id').select('before', 'after');
    expect(audit.map((r: { after: { teamId: string | null } | string }) => (typeof r.after === 'string' ? JSON.parse(r.after) : r.after).teamId)).toEqual([beta, null]);

    for (const body of [{ teamId: '00000000-0000-4000-8000-000000000000' }, { teamId: 'alpha' }, { teamId: 7 }]) {
      const res = await req(`/wallet/keys/${a.id}`, admin, 'PATCH', body);
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('invalid_request');
    }
    const unknownTeam = await req('/wallet/keys', admin, 'POST', { secret: 'prov_unknownteam0123456789', service: slug, label: 'x', teamId: '00000000-0000-4000-8000-000000000000' });
    expect(unknownTeam.status).toBe(400);
    expect(unknownTeam.body.error.message).toContain('team');
    expect(await gw.deps.db('wallet_entries').where({ label: 'x', service: slug })).toEqual([]);
    expect((await req(`/wallet/keys/${a.id}`, admin)).body.teamId).toBe(alpha);
    expect((await req(`/wallet/keys?pool=other`, admin)).status).toBe(400);
  });

  it('imports into a team pool (JSON entries and dotenv) through the API and the CLI, and lists it by team', async () => {
    const slug = uniqueSlug('imp');
    await createService(gw, admin, { slug, baseUrl: mock.url });
    const json = await req('/wallet/import', admin, 'POST', [
      { secret: 'prov_importjsonalpha000001', service: slug, label: 'json alpha', teamId: alpha },
      { secret: 'prov_importjsonshared00001', service: slug, label: 'json shared' },
      { secret: 'prov_importjsonbadteam0001', service: slug, label: 'json bad', teamId: 'beta' },
    ]);
    expect(json.status).toBe(200);
    expect(json.body.results.map((r: { ok: boolean }) => r.ok)).toEqual([true, true, false]);
    expect(json.body.results[2].error.message).toContain('teamId');
    const dotenv = await req('/wallet/import', admin, 'POST', { dotenv: `ALPHA_OPENAI_KEY=${fakeSecret.openaiProject()}`, teamId: alpha });
    expect(dotenv.body).toMatchObject({ created: 1, failed: 0 });
    const teamOf = async (label: string) => (await gw.deps.db('wallet_entries').where({ label }).first('team_id'))?.team_id;
    expect(await teamOf('json alpha')).toBe(alpha);
    expect(await teamOf('json shared')).toBeNull();
    expect(await teamOf('ALPHA_OPENAI_KEY')).toBe(alpha);

    const withDeps: WithDeps = (fn) => fn(gw.deps);
    const run = async (...args: string[]) => {
      const program = new Command().exitOverride();
      registerWalletCommands(program, withDeps);
      const out: string[] = [];
      const spy = jest.spyOn(process.stdout, 'write').mockImplementation((chunk) => (out.push(String(chunk)), true));
      try {
        await program.parseAsync(['node', 'keywallet', 'wallet', ...args]);
      } finally {
        spy.mockRestore();
      }
      return out.join('');
    };
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kw-pool-import-'));
    try {
      const file = path.join(dir, 'keys.json');
      fs.writeFileSync(file, JSON.stringify([{ secret: 'prov_importclibeta0000001', service: slug, label: 'cli beta' }]));
      expect(await run('import', file, '--team', 'beta')).toContain('1 created, 0 failed');
      expect(await teamOf('cli beta')).toBe(beta);
      const id = (await gw.deps.db('wallet_entries').where({ label: 'json shared' }).first('id')).id;
      expect(await run('team', id, 'alpha')).toContain("team alpha's own pool");
      expect(await teamOf('json shared')).toBe(alpha);
      const list = await run('list', '--service', slug, '--team', 'alpha');
      expect(list.split('\n')[0]).toMatch(/\bTEAM\b/);
      expect(list).toContain('json alpha');
      expect(list).not.toContain('cli beta');
      expect(await run('team', id, 'shared')).toContain('shared pool');
      expect(await teamOf('json shared')).toBeNull();
      await expect(run('team', id, 'no-such-team')).rejects.toThrow(/no team/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("refuses to delete a team whose own pool still holds entries (409): they would become everyone's", async () => {
    const { a } = await pools();
    const team = (await req('/teams', admin, 'POST', { name: 'D', slug: uniqueSlug('d') })).body.id;
    await req(`/wallet/keys/${a.id}`, admin, 'PATCH', { teamId: team });
    const refused = await req(`/teams/${team}`, admin, 'DELETE');
    expect(refused.status).toBe(409);
    expect(refused.body.error.message).toContain('wallet entr');
    expect((await req(`/wallet/keys/${a.id}`, admin)).body.teamId).toBe(team);
    await req(`/wallet/keys/${a.id}`, admin, 'PATCH', { teamId: null });
    expect((await req(`/teams/${team}`, admin, 'DELETE')).status).toBe(204);
  });

  it("routes /v1 LLM calls by pool too: the team key's call reaches the upstream with the team's own secret", async () => {
    const env = await startLlmEnv();
    try {
      const team = (await env.gw.request('/teams', { method: 'POST', token: env.adminToken, body: { name: 'L', slug: 'llm-team' } })).body.id;
      const own = await env.addEntry('openai', { teamId: team, label: 'team openai', priority: 500 });
      const { user, token } = await env.gw.user('developer', undefined, 'enterprise');
      await env.gw.request(`/teams/${team}/members`, { method: 'POST', token: env.adminToken, body: { userId: user.id } });
      const teamKey = (await createGatewayKey(env.gw, token, { teamId: team })).key;
      const chat = (key: string) =>
        fetch(`${env.gw.url}/v1/chat/completions`, {
          method: 'POST',
          headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
          body: JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }], max_tokens: 5 }),
        });
      const inTeam = await chat(teamKey);
      expect(inTeam.status).toBe(200);
      expect(inTeam.headers.get('x-keywallet-provider-key')).toBe(own.id);
      const orgLevel = await chat(env.key);
      expect(orgLevel.headers.get('x-keywallet-provider-key')).toBe(env.entryIds.openai);
      expect(env.openai.requests.map((r) => r.credential)).toEqual([own.secret, env.secrets.openai]);
    } finally {
      await env.close();
    }
  }, 120_000);
});
