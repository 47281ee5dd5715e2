import { TEST_BACKEND } from '../helpers/backend';
import { startTestGateway, TestGateway } from '../helpers/gateway';
import { createGatewayKey } from '../helpers/keys';
import { addEntry, createService, uniqueSlug } from '../helpers/routing';

/**
 * Issue 17, delegated administration read limits: a team admin sees the team's members, keys and usage, and nothing
 * of other teams, of the wallet (not even their own team's pool, masked) or of the organisation's settings. Each
 * refusal is checked for every caller who must get it: no credential (401), a plain member, a team admin of another
 * team, a developer in no team (403).
 */
describe(`team admin read limits (${TEST_BACKEND})`, () => {
  let gw: TestGateway;
  let admin: string;
  let alpha: string;
  let beta: string;
  let leadA: string; // team admin of alpha
  let memberA: string; // member of alpha
  let leadB: string; // team admin of beta
  let developer: string; // in no team
  let entry: { id: string; secret: string }; // in alpha's own pool
  let slug: string;

  const req = (path: string, token: string | undefined, method = 'GET', body?: unknown) => gw.request(path, { method, token, body });

  beforeAll(async () => {
    gw = await startTestGateway();
    admin = (await gw.user('admin')).token;
    alpha = (await req('/teams', admin, 'POST', { name: 'Alpha', slug: 'alpha' })).body.id;
    beta = (await req('/teams', admin, 'POST', { name: 'Beta', slug: 'beta' })).body.id;
    const join = async (team: string, role: 'team_admin' | 'member') => {
      const { user, token } = await gw.user('developer');
      expect((await req(`/teams/${team}/members`, admin, 'POST', { userId: user.id, role })).status).toBe(201);
      await createGatewayKey(gw, token, { teamId: team });
      return token;
    };
    leadA = await join(alpha, 'team_admin');
    memberA = await join(alpha, 'member');
    leadB = await join(beta, 'team_admin');
    developer = (await gw.user('developer')).token;
    slug = uniqueSlug('lim');
    await createService(gw, admin, { slug, baseUrl: 'http://127.0.0.1:9' });
    entry = await addEntry(gw, admin, { service: slug, label: 'alpha pool', teamId: alpha });
  }, 120_000);
  afterAll(() => gw.close());

  it("lets a team admin read their own team's members, keys and usage", async () => {
    expect((await req(`/teams/${alpha}/members`, leadA)).body.data).toHaveLength(2);
    const keys = await req(`/api-keys?teamId=${alpha}`, leadA);
    expect(keys.status).toBe(200);
    expect(keys.body.data).toHaveLength(2);
    expect((await req(`/teams/${alpha}/usage`, leadA)).status).toBe(200);
  });

  const OTHER_TEAM = () => [`/teams/${beta}/members`, `/teams/${beta}/usage`, `/api-keys?teamId=${beta}`];
  const OWN_TEAM_ADMIN_ONLY = () => [`/teams/${alpha}/members`, `/teams/${alpha}/usage`, `/api-keys?teamId=${alpha}`];
  const WALLET = () => ['/wallet/keys', `/wallet/keys/${entry.id}`, `/wallet/keys?teamId=${alpha}`, '/wallet/health', `/routing/explain?service=${slug}&teamId=${alpha}`];
  const ORG_READS = ['/users', '/audit', '/audit/verify', '/system'];

  it('refuses another team, the wallet and org settings to the team admin (403), and everything to no credential (401)', async () => {
    for (const path of [...OTHER_TEAM(), ...WALLET(), ...ORG_READS]) {
      const res = await req(path, leadA);
      expect({ path, status: res.status, code: res.body?.error?.code }).toEqual({ path, status: 403, code: 'forbidden' });
      expect(res.text).not.toContain(entry.secret);
      expect(res.text).not.toContain(entry.id);
      expect((await req(path, undefined)).status).toBe(401);
    }
  });

  it("refuses a member and a developer the team admin's views (403)", async () => {
    for (const token of [memberA, developer]) {
      for (const path of [...OWN_TEAM_ADMIN_ONLY(), ...OTHER_TEAM(), ...WALLET()]) {
        const res = await req(path, token);
        expect({ path, status: res.status }).toEqual({ path, status: 403 });
        expect(res.text).not.toContain(entry.secret);
      }
    }
  });

  it("refuses a team admin of another team everything of alpha's (403)", async () => {
    for (const path of OWN_TEAM_ADMIN_ONLY()) expect({ path, status: (await req(path, leadB)).status }).toEqual({ path, status: 403 });
    expect((await req(`/teams/${alpha}`, leadB)).status).toBe(403);
  });

  it("refuses a team admin every change to the wallet, the team's settings and the organisation's (403), changing nothing", async () => {
    const writes: [string, string, unknown][] = [
      ['POST', '/wallet/keys', { secret: 'prov_teamadminwrite000000001', service: slug, label: 'mine', teamId: alpha }],
      ['PATCH', `/wallet/keys/${entry.id}`, { teamId: null }],
      ['POST', `/wallet/keys/${entry.id}/secret`, { secret: 'prov_teamadminwrite000000002' }],
      ['DELETE', `/wallet/keys/${entry.id}`, undefined],
      ['POST', '/wallet/import', [{ secret: 'prov_teamadminwrite000000003', service: slug, label: 'imp', teamId: alpha }]],
      ['PATCH', `/teams/${alpha}`, { ownPoolOnly: true }],
      ['PATCH', `/teams/${alpha}`, { monthlyBudget: 1_000_000 }],
      ['PATCH', `/services/${slug}`, { timeoutMs: 1000 }],
      ['POST', '/teams', { name: 'X', slug: 'x-team' }],
    ];
    for (const [method, path, body] of writes) {
      const res = await req(path, leadA, method, body);
      expect({ method, path, status: res.status }).toEqual({ method, path, status: 403 });
    }
    const row = await gw.deps.db('wallet_entries').where({ id: entry.id }).first('team_id', 'label');
    expect(row).toEqual({ team_id: alpha, label: 'alpha pool' });
    expect(await gw.deps.db('wallet_entries').where({ service: slug }).count({ n: '*' })).toEqual([{ n: 1 }]);
    expect((await gw.deps.db('teams').where({ id: alpha }).first('own_pool_only')).own_pool_only).toBe(false);
  });
});
