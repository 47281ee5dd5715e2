import { startTestGateway, TestGateway } from '../helpers/gateway';
import { TEST_BACKEND } from '../helpers/backend';

describe(`model aliases and prices (${TEST_BACKEND})`, () => {
  let gw: TestGateway;
  let admin: string;
  let developer: string;
  const published: string[] = [];
  const put = (path: string, body: unknown, token = admin) => gw.request(path, { method: 'PUT', token, body });
  const audit = (action: string, targetId: string) => gw.deps.db('audit_log').where({ action, target_id: targetId }).orderBy('id');
  const waitForMessage = async (message: string) => {
    const deadline = Date.now() + 1000;
    while (!published.includes(message) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(published).toContain(message);
  };

  beforeAll(async () => {
    gw = await startTestGateway();
    admin = (await gw.user('admin')).token;
    developer = (await gw.user('developer')).token;
    await gw.deps.kv.subscribe('aliases:changed', (m) => published.push(m));
  }, 120_000); // PGlite boots slowly on a busy machine
  afterAll(() => gw.close());

  it('lists the seeded aliases to anyone who may read models', async () => {
    const res = await gw.request('/models', { token: developer });
    expect(res.status).toBe(200);
    expect(res.body.data.map((a: { alias: string }) => a.alias)).toEqual(['claude-fast', 'claude-premium', 'claude-quality']);
    expect(res.body.data[0]).toMatchObject({
      builtin: true,
      targets: [{ service: 'anthropic', model: 'claude-haiku-4-5' }, { service: 'openai', model: 'gpt-5-mini' }],
    });
  });

  it('creates and replaces an alias, auditing before and after, and announces it', async () => {
    const targets = [{ service: 'openai', model: 'gpt-5' }, { service: 'anthropic', model: 'claude-sonnet-4-5' }];
    const created = await put('/models/team-default', { targets, description: 'what the team uses' });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ alias: 'team-default', targets, description: 'what the team uses', builtin: false });
    await waitForMessage('team-default');

    const replaced = await put('/models/team-default', { targets: [targets[1]] });
    expect(replaced.status).toBe(200);
    expect(replaced.body).toMatchObject({ targets: [targets[1]], description: 'what the team uses' });
    const rows = await audit('model_alias.put', 'team-default');
    expect(rows).toHaveLength(2);
    expect(rows[0].before).toBeNull();
    expect(rows[0].after.targets).toEqual(targets);
    expect(rows[1].before.targets).toEqual(targets);
    expect(rows[1].after.targets).toEqual([targets[1]]);
    expect(rows[1].actor_type).toBe('user');

    const builtin = await put('/models/claude-fast', { targets: [{ service: 'openai', model: 'gpt-5-mini' }] });
    expect(builtin.status).toBe(200);
    expect(builtin.body.builtin).toBe(true);
  });

  it('validates alias names and targets', async () => {
    const ok = { targets: [{ service: 'openai', model: 'gpt-5' }] };
    expect((await put('/models/prices', ok)).status).toBe(400);
    expect((await put('/models/-dash', ok)).status).toBe(400);
    expect((await put('/models/x', { targets: [] })).status).toBe(400);
    expect((await put('/models/x', { targets: [{ service: 'openai', model: 'has space' }] })).status).toBe(400);
    const unknown = await put('/models/x', { targets: [{ service: 'openai', model: 'gpt-5' }, { service: 'nope', model: 'm' }] });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error).toMatchObject({ message: 'Unknown service nope', details: null });
    expect((await gw.request('/models', { token: admin })).body.data.map((a: { alias: string }) => a.alias)).not.toContain('x');
  });

  it('deletes an alias (audited), refuses built-ins and unknown ones', async () => {
    published.length = 0;
    const deleted = await gw.request('/models/team-default', { method: 'DELETE', token: admin });
    expect(deleted.status).toBe(204);
    await waitForMessage('team-default');
    const [row] = await audit('model_alias.delete', 'team-default');
    expect(row.before).toMatchObject({ alias: 'team-default' });
    expect(row.after).toBeNull();
    expect((await gw.request('/models/team-default', { method: 'DELETE', token: admin })).status).toBe(404);
    expect((await gw.request('/models/claude-fast', { method: 'DELETE', token: admin })).status).toBe(409);
  });

  it('manages the price table: exact models and prefixes, audited', async () => {
    const list = await gw.request('/models/prices', { token: developer });
    expect(list.body.data.find((p: { model: string }) => p.model === 'gpt-5')).toMatchObject({ service: 'openai', inputPerMTok: 1.25, outputPerMTok: 10 });

    const created = await put('/models/prices/gpt-9-turbo', { service: 'openai', inputPerMTok: 0.5, outputPerMTok: 1.5 });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ model: 'gpt-9-turbo', service: 'openai', inputPerMTok: 0.5, outputPerMTok: 1.5 });
    const changed = await put('/models/prices/gpt-9-turbo', { service: 'openai', inputPerMTok: 0.75, outputPerMTok: 1.5 });
    expect(changed.status).toBe(200);
    const rows = await audit('model_price.put', 'gpt-9-turbo');
    expect(rows.map((r) => [r.before?.inputPerMTok ?? null, r.after.inputPerMTok])).toEqual([[null, 0.5], [0.5, 0.75]]);
    await waitForMessage('price:gpt-9-turbo');

    expect((await put('/models/prices/acme-*', { service: 'openai', inputPerMTok: 1, outputPerMTok: 3 })).status).toBe(201);
    expect((await put('/models/prices/x', { service: 'nope', inputPerMTok: 1, outputPerMTok: 1 })).status).toBe(400);
    expect((await put('/models/prices/x', { service: 'openai', inputPerMTok: -1, outputPerMTok: 1 })).status).toBe(400);
    expect((await gw.request('/models/prices/acme-*', { method: 'DELETE', token: admin })).status).toBe(204);
    expect(await audit('model_price.delete', 'acme-*')).toHaveLength(1);
  });

  it('lets only admins change aliases and prices', async () => {
    const body = { targets: [{ service: 'openai', model: 'gpt-5' }] };
    expect((await put('/models/dev-alias', body, developer)).status).toBe(403);
    expect((await gw.request('/models/claude-fast', { method: 'DELETE', token: developer })).status).toBe(403);
    expect((await put('/models/prices/gpt-5', { service: 'openai', inputPerMTok: 0, outputPerMTok: 0 }, developer)).status).toBe(403);
    expect((await gw.request('/models')).status).toBe(401);
  });
});
