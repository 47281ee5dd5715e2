import OpenAI from 'openai';
import { TEST_BACKEND } from '../helpers/backend';
import { startTestGateway, TestGateway } from '../helpers/gateway';
import { eventually } from '../helpers/keys';
import { startLlmEnv, type LlmTestEnv } from '../helpers/llm';
import { addEntry, createService, developerKey, uniqueSlug } from '../helpers/routing';
import { startRestMock, MockUpstream } from '../mocks';

/**
 * Issue 14.2: an upstream 401/403 is usually about what was asked for, and on /proxy the client chooses that. Only
 * the provider's word about the key itself (a 401 on an LLM call, or the service's own credential check) retires an
 * entry, one per request at most; an admin sees and clears the state in one call.
 */
describe(`wallet-entry invalidation (${TEST_BACKEND})`, () => {
  let gw: TestGateway;
  let mock: MockUpstream;
  let admin: string;
  let key: string;

  const call = (slug: string, path: string) => gw.request(`/proxy/${slug}${path}`, { headers: { authorization: `Bearer ${key}` } });
  const statusOf = async (id: string) => (await gw.request(`/wallet/keys/${id}`, { token: admin })).body;
  const checks = (secret: string) => mock.requests.filter((r) => r.path === '/v1/me' && r.credential === secret);

  beforeAll(async () => {
    gw = await startTestGateway();
    mock = await startRestMock();
    admin = (await gw.user('admin')).token;
    key = await developerKey(gw, { scopes: ['proxy'] });
  }, 60_000);
  afterAll(async () => {
    await gw.close();
    await mock.close();
  });
  beforeEach(() => mock.reset());

  it('14.2 regression: one /proxy request to a path answering 403 invalidates no entry and the service keeps serving', async () => {
    const slug = uniqueSlug('inval');
    await createService(gw, admin, { slug, baseUrl: mock.url });
    const entries = [];
    for (let i = 0; i < 3; i++) entries.push(await addEntry(gw, admin, { service: slug, priority: i }));
    mock.fail({ kind: 'status', status: 403, body: { error: 'this resource belongs to another account' } }, { path: '/v1/someone-elses-thing' });

    const refused = await call(slug, '/v1/someone-elses-thing');
    expect(refused.status).toBe(403); // the upstream's answer, as is: no fallback to the other entries
    expect(refused.body).toEqual({ error: 'this resource belongs to another account' });
    expect(refused.headers.get('x-keywallet-attempts')).toBe('1');
    expect(mock.requests).toHaveLength(1);

    for (const e of entries) expect((await statusOf(e.id)).status).toBe('active');
    expect(await gw.deps.db('audit_log').where({ action: 'wallet.mark_invalid' }).whereIn('target_id', entries.map((e) => e.id))).toHaveLength(0);
    const fine = await call(slug, '/v1/things');
    expect(fine.status).toBe(200);
    expect(fine.headers.get('x-keywallet-provider-key')).toBe(entries[0].id);
  });

  it('a 401 from a service without a credential check is passed on and invalidates nothing', async () => {
    const slug = uniqueSlug('inval');
    await createService(gw, admin, { slug, baseUrl: mock.url });
    const a = await addEntry(gw, admin, { service: slug, priority: 1 });
    const b = await addEntry(gw, admin, { service: slug, priority: 2 });
    mock.fail({ kind: 'status', status: 401 });
    const res = await call(slug, '/v1/things');
    expect(res.status).toBe(401);
    expect(res.headers.get('x-keywallet-provider-key')).toBe(a.id);
    expect(mock.requests.map((r) => r.credential)).toEqual([a.secret]);
    expect((await statusOf(a.id)).status).toBe('active');
    expect((await statusOf(b.id)).status).toBe('active');
  });

  it("a /proxy 403 runs the service's credential check on that one entry: its 401 retires the entry, its 200 keeps it", async () => {
    const slug = uniqueSlug('inval');
    await createService(gw, admin, { slug, baseUrl: mock.url, credentialCheck: { path: '/v1/me' } });
    const dead = await addEntry(gw, admin, { service: slug, priority: 1 });
    const alive = await addEntry(gw, admin, { service: slug, priority: 2 });
    mock.fail({ kind: 'status', status: 403 }, { path: '/v1/private' });
    mock.fail({ kind: 'status', status: 401 }, { path: '/v1/me', credential: dead.secret });

    const first = await call(slug, '/v1/private');
    expect(first.status).toBe(403);
    expect(first.headers.get('x-keywallet-provider-key')).toBe(dead.id);
    const invalid = await eventually(async () => {
      const shown = await statusOf(dead.id);
      expect(shown.status).toBe('invalid');
      return shown;
    }, 5000);
    expect(invalid.statusReason).toBe('credential check 401');
    expect(new Date(invalid.invalidAt).getTime()).not.toBeNaN();
    expect(checks(dead.secret)).toHaveLength(1);
    const [audit] = await gw.deps.db('audit_log').where({ action: 'wallet.mark_invalid', target_id: dead.id });
    expect(audit.actor_type).toBe('system');
    const alert = gw.logs.find((l) => l.includes('"alert":"wallet_entry_invalid"') && l.includes(dead.id));
    expect(alert).toBeDefined();
    expect(gw.logs.join('\n')).not.toContain(dead.secret);

    // the next request goes to the other entry; its check passes, so it stays
    const second = await call(slug, '/v1/private');
    expect(second.status).toBe(403);
    expect(second.headers.get('x-keywallet-provider-key')).toBe(alive.id);
    await eventually(async () => expect(checks(alive.secret)).toHaveLength(1), 5000);
    await eventually(async () => expect(gw.logs.some((l) => l.includes('credential check passed') && l.includes(alive.id))).toBe(true), 5000);
    expect((await statusOf(alive.id)).status).toBe('active');
    expect((await call(slug, '/v1/things')).status).toBe(200);
  });

  it('an admin lists invalid entries with reason and time, and re-activates them in one call (audited)', async () => {
    const slug = uniqueSlug('inval');
    await createService(gw, admin, { slug, baseUrl: mock.url });
    const a = await addEntry(gw, admin, { service: slug, priority: 1 });
    const b = await addEntry(gw, admin, { service: slug, priority: 2 });
    const c = await addEntry(gw, admin, { service: slug, priority: 3 });
    await gw.deps.wallet.markInvalid(a.id, 'upstream 401');
    await gw.deps.wallet.markInvalid(b.id, 'credential check 403');
    await gw.request(`/wallet/keys/${c.id}`, { method: 'PATCH', token: admin, body: { status: 'disabled' } });

    const listed = await gw.request(`/wallet/keys?status=invalid&service=${slug}`, { token: admin });
    expect(listed.status).toBe(200);
    expect(listed.body.data.map((e: any) => [e.id, e.statusReason])).toEqual([[a.id, 'upstream 401'], [b.id, 'credential check 403']]);
    for (const e of listed.body.data) expect(new Date(e.invalidAt).getTime()).not.toBeNaN();
    expect((await call(slug, '/v1/things')).status).toBe(503);

    const res = await gw.request('/wallet/keys/reactivate', { token: admin, body: { service: slug } });
    expect(res.status).toBe(200);
    expect(res.body.reactivated.map((e: any) => e.id).sort()).toEqual([a.id, b.id].sort());
    expect(res.body.reactivated.every((e: any) => e.status === 'active' && e.statusReason === null && e.invalidAt === null)).toBe(true);
    expect((await statusOf(c.id)).status).toBe('disabled'); // disabled on purpose: not touched
    const audit = await gw.deps.db('audit_log').where({ action: 'wallet.reactivate' }).whereIn('target_id', [a.id, b.id, c.id]);
    expect(audit.map((r) => r.target_id).sort()).toEqual([a.id, b.id].sort());
    expect(audit.every((r) => r.actor_type === 'user' && r.before.status === 'invalid' && r.after.status === 'active')).toBe(true);
    expect((await call(slug, '/v1/things')).status).toBe(200);

    // one entry, by id
    await gw.deps.wallet.markInvalid(a.id, 'upstream 401');
    const one = await gw.request(`/wallet/keys/${a.id}/reactivate`, { method: 'POST', token: admin });
    expect(one.status).toBe(200);
    expect(one.body).toMatchObject({ id: a.id, status: 'active', statusReason: null });
    const again = await gw.request(`/wallet/keys/${a.id}/reactivate`, { method: 'POST', token: admin });
    expect(again.status).toBe(409);
    const byIds = await gw.request('/wallet/keys/reactivate', { token: admin, body: { ids: [a.id, '00000000-0000-4000-8000-000000000000'] } });
    expect(byIds.body).toEqual({ reactivated: [], skipped: [{ id: a.id, reason: 'not invalid (active)' }, { id: '00000000-0000-4000-8000-000000000000', reason: 'not_found' }] });
  });

  it('re-activation: no credential 401, a developer 403, hostile input 400, an unknown entry 404; nothing changes', async () => {
    const slug = uniqueSlug('inval');
    await createService(gw, admin, { slug, baseUrl: mock.url });
    const a = await addEntry(gw, admin, { service: slug });
    await gw.deps.wallet.markInvalid(a.id, 'upstream 401');
    const developer = (await gw.user('developer')).token;

    expect((await gw.request('/wallet/keys/reactivate', { body: { ids: [a.id] } })).status).toBe(401);
    expect((await gw.request(`/wallet/keys/${a.id}/reactivate`, { method: 'POST' })).status).toBe(401);
    expect((await gw.request('/wallet/keys/reactivate', { token: developer, body: { ids: [a.id] } })).status).toBe(403);
    expect((await gw.request(`/wallet/keys/${a.id}/reactivate`, { method: 'POST', token: developer })).status).toBe(403);
    // a gateway key is no management credential
    expect((await gw.request('/wallet/keys/reactivate', { headers: { authorization: `Bearer ${key}` }, body: { service: slug } })).status).toBe(401);

    for (const body of [{}, { ids: [a.id], service: slug }, { ids: ['not-a-uuid'] }, { ids: [] }, { service: '' }, { ids: [a.id], extra: 1 }, [a.id], 'x']) {
      const res = await gw.request('/wallet/keys/reactivate', { token: admin, body });
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('invalid_request');
    }
    expect((await gw.request("/wallet/keys/'%20or%201=1--/reactivate", { method: 'POST', token: admin })).status).toBe(404);
    expect((await gw.request('/wallet/keys/00000000-0000-4000-8000-000000000000/reactivate', { method: 'POST', token: admin })).status).toBe(404);
    expect((await statusOf(a.id)).status).toBe('invalid');
    expect(await gw.deps.db('audit_log').where({ action: 'wallet.reactivate', target_id: a.id })).toHaveLength(0);
  });
});

describe(`LLM calls: a 401 retires one entry per request at most (${TEST_BACKEND})`, () => {
  let env: LlmTestEnv;
  let client: OpenAI;

  beforeAll(async () => {
    env = await startLlmEnv();
    client = new OpenAI({ baseURL: `${env.gw.url}/v1`, apiKey: env.key, maxRetries: 0 });
  }, 60_000);
  afterAll(() => env.close());
  beforeEach(() => {
    env.openai.reset();
    env.anthropic.reset();
  });

  it('a 401 retires the entry and the request moves on; a second 401 in the same request only asks for the credential check', async () => {
    const second = await env.addEntry('openai', { priority: 200 });
    const third = await env.addEntry('openai', { priority: 300 });
    env.openai.fail({ kind: 'status', status: 401 }, { path: '/v1/chat/completions', credential: env.secrets.openai });
    env.openai.fail({ kind: 'status', status: 401 }, { path: '/v1/chat/completions', credential: second.secret });

    const { data, response } = await client.chat.completions
      .create({ model: 'openai/gpt-4o', messages: [{ role: 'user', content: 'hi' }] })
      .withResponse();
    expect(data.choices[0].message.content).toContain('hi');
    expect(response.headers.get('x-keywallet-provider-key')).toBe(third.id);
    expect(response.headers.get('x-keywallet-attempts')).toBe('3');

    const shown = async (id: string) => (await env.gw.request(`/wallet/keys/${id}`, { token: env.adminToken })).body;
    expect(await shown(env.entryIds.openai)).toMatchObject({ status: 'invalid', statusReason: 'upstream 401' });
    // the second entry's key is fine (the built-in check, GET /v1/models, answers 200): it stays
    await eventually(async () => expect(env.openai.requests.filter((r) => r.path === '/v1/models' && r.credential === second.secret)).toHaveLength(1), 5000);
    await eventually(async () => expect(env.gw.logs.some((l) => l.includes('credential check passed') && l.includes(second.id))).toBe(true), 5000);
    expect((await shown(second.id)).status).toBe('active');
    expect((await shown(third.id)).status).toBe('active');
    expect(env.openai.requests.filter((r) => r.path === '/v1/models' && r.credential === env.secrets.openai)).toHaveLength(0);
  });
});
