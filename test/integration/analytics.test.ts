import crypto from 'node:crypto';
import { Command } from 'commander';
import { startTestGateway, TestGateway } from '../helpers/gateway';
import { TEST_BACKEND } from '../helpers/backend';
import type { UsageEvent } from '../../src/usage/event';
import { registerUsageCommands } from '../../scripts/commands/usage';
import type { WithDeps } from '../../scripts/cli';

/** RFC 4180 reader: quoted fields may hold commas, CRLF and doubled quotes. */
function parseCsv(text: string): string[][] {
  const records: string[][] = [];
  let record: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') (field += '"'), i++;
      else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') record.push(field), (field = '');
    else if (c === '\r' && text[i + 1] === '\n') {
      record.push(field), records.push(record), (record = []), (field = ''), i++;
    } else field += c;
  }
  if (field || record.length) throw new Error('CSV must end with CRLF');
  return records;
}

type Dims = Pick<UsageEvent, 'userId' | 'gatewayKeyId' | 'walletEntryId' | 'service' | 'model'>;

describe(`analytics (${TEST_BACKEND})`, () => {
  let gw: TestGateway;
  let admin: string, analyst: string, dev1: string, dev2: string;
  let dev1Id: string, dev2Id: string, dev1Email: string;
  const key1 = crypto.randomUUID();
  const key2 = crypto.randomUUID();
  const W1 = crypto.randomUUID();
  const W2 = crypto.randomUUID();
  const KEY2_NAME = '=HYPERLINK("http://x","click, me")';
  const inRange: UsageEvent[] = [];

  const at = (iso: string) => Date.parse(iso);
  function event(ts: number, d: Partial<Dims>, status: number, p: number, c: number, cost: number, latency: number): UsageEvent {
    return {
      ts,
      requestId: crypto.randomUUID(),
      gatewayKeyId: null,
      userId: null,
      walletEntryId: null,
      service: null,
      model: null,
      surface: 'chat',
      status,
      errorCode: status >= 400 ? 'some_error' : null,
      latencyMs: latency,
      upstreamLatencyMs: null,
      promptTokens: p,
      completionTokens: c,
      costMicros: cost,
      estimated: false,
      stream: false,
      attempts: 1,
      ...d,
    };
  }

  beforeAll(async () => {
    gw = await startTestGateway();
    admin = (await gw.user('admin')).token;
    analyst = (await gw.user('analyst')).token;
    const d1 = await gw.user('developer');
    const d2 = await gw.user('developer');
    [dev1, dev1Id, dev1Email, dev2, dev2Id] = [d1.token, d1.user.id, d1.user.email, d2.token, d2.user.id];
    const keyRow = (id: string, userId: string, name: string) => ({
      id,
      user_id: userId,
      name,
      environment: 'live',
      key_hash: crypto.randomBytes(32).toString('hex'),
      key_hint: 'kw_live_…test',
      scopes: JSON.stringify(['chat']),
    });
    await gw.deps.db('gateway_keys').insert([keyRow(key1, dev1Id, 'dev1 laptop'), keyRow(key2, dev2Id, KEY2_NAME)]);

    const u1 = { userId: dev1Id, gatewayKeyId: key1 };
    const u2 = { userId: dev2Id, gatewayKeyId: key2 };
    const openai = (model: string) => ({ service: 'openai', model });
    const haiku = { service: 'anthropic', model: 'claude-3-5-haiku' };
    inRange.push(
      event(at('2025-03-01T10:00:00Z'), { ...u1, walletEntryId: W1, ...openai('gpt-4o-mini') }, 200, 100, 50, 1500, 120),
      event(at('2025-03-01T23:59:59.999Z'), { ...u1, walletEntryId: W2, ...haiku }, 200, 200, 80, 3000, 300),
      event(at('2025-03-02T00:00:00Z'), { ...u2, walletEntryId: W1, ...openai('gpt-4o-mini') }, 429, 0, 0, 0, 5),
      event(at('2025-03-02T12:00:00Z'), { ...u2, walletEntryId: W1, ...openai('gpt-4o') }, 200, 1000, 500, 12000, 900),
      event(at('2025-03-02T13:00:00Z'), {}, 401, 0, 0, 0, 2),
      event(at('2025-03-03T08:00:00Z'), { ...u1, service: 'stripe' }, 200, 0, 0, 10000, 250),
      event(at('2025-03-03T09:00:00Z'), { ...u2, walletEntryId: W2, ...haiku }, 502, 50, 0, 0, 3001),
      event(at('2025-03-03T23:00:00Z'), { ...u1, walletEntryId: W1, ...openai('gpt-4o-mini') }, 200, 10, 10, 20, 40),
    );
    const outside = [
      event(at('2025-02-28T23:59:59.999Z'), { ...u1, ...openai('gpt-4o-mini') }, 200, 7, 7, 700, 7),
      event(at('2025-03-04T00:00:00Z'), { ...u2, ...openai('gpt-4o-mini') }, 200, 9, 9, 900, 9),
      event(Date.now(), { ...u1, ...openai('gpt-4o-mini') }, 200, 1, 2, 3, 4),
    ];
    for (const e of [...inRange, ...outside]) gw.deps.usage.record(e);
    await gw.deps.usage.flush();
  }, 120_000); // PGlite's first start compiles WASM: slow on a busy machine
  afterAll(() => gw.close());

  const PERIOD = 'from=2025-03-01&to=2025-03-03';
  const GROUPS: Record<string, (e: UsageEvent) => string | null> = {
    day: (e) => new Date(e.ts).toISOString().slice(0, 10),
    service: (e) => e.service,
    model: (e) => e.model,
    key: (e) => e.gatewayKeyId,
    user: (e) => e.userId,
    providerKey: (e) => e.walletEntryId,
  };

  /** The report computed by hand from the events, independent of the code under test. */
  function expected(groupBy: string, events = inRange) {
    const groups = new Map<string | null, UsageEvent[]>();
    for (const e of events) groups.set(GROUPS[groupBy](e), [...(groups.get(GROUPS[groupBy](e)) ?? []), e]);
    return [...groups.entries()].map(([group, es]) => {
      const sum = (f: (e: UsageEvent) => number) => es.reduce((a, e) => a + f(e), 0);
      return {
        group,
        requests: es.length,
        errors: es.filter((e) => e.status >= 400).length,
        promptTokens: sum((e) => e.promptTokens),
        completionTokens: sum((e) => e.completionTokens),
        costMicros: sum((e) => e.costMicros),
        costUsd: sum((e) => e.costMicros) / 1e6,
        avgLatencyMs: Math.round(sum((e) => e.latencyMs) / es.length),
      };
    });
  }
  const byGroup = (a: { group: string | null }, b: { group: string | null }) => String(a.group).localeCompare(String(b.group));
  const strip = ({ label: _label, ...rest }: Record<string, unknown>) => rest;

  it.each(Object.keys(GROUPS))('groupBy=%s matches the events by hand', async (groupBy) => {
    const res = await gw.request(`/analytics/usage?${PERIOD}&groupBy=${groupBy}`, { token: admin });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ from: '2025-03-01', to: '2025-03-03', groupBy, scope: 'all' });
    expect(res.body.rows.map(strip).sort(byGroup)).toEqual(expected(groupBy).sort(byGroup));
    const costs = res.body.rows.map((r: { costMicros: number }) => r.costMicros);
    if (groupBy === 'day') expect(res.body.rows.map((r: { group: string }) => r.group)).toEqual(['2025-03-01', '2025-03-02', '2025-03-03']);
    else expect(costs).toEqual([...costs].sort((a, b) => b - a));
  });

  it('labels id groups with readable names, falling back to the id', async () => {
    const users = (await gw.request(`/analytics/usage?${PERIOD}&groupBy=user`, { token: admin })).body.rows;
    expect(users.find((r: { group: string }) => r.group === dev1Id).label).toBe(dev1Email);
    expect(users.find((r: { group: string | null }) => r.group === null).label).toBeNull();
    const keys = (await gw.request(`/analytics/usage?${PERIOD}&groupBy=key`, { token: admin })).body.rows;
    expect(keys.find((r: { group: string }) => r.group === key2).label).toBe(KEY2_NAME);
    const entries = (await gw.request(`/analytics/usage?${PERIOD}&groupBy=providerKey`, { token: admin })).body.rows;
    expect(entries.find((r: { group: string }) => r.group === W1).label).toBe(W1);
  });

  it('applies the service, model, keyId and userId filters', async () => {
    const cases: [string, string, (e: UsageEvent) => boolean][] = [
      ['service=openai', 'model', (e) => e.service === 'openai'],
      ['model=gpt-4o', 'day', (e) => e.model === 'gpt-4o'],
      [`keyId=${key2}`, 'day', (e) => e.gatewayKeyId === key2],
      [`userId=${dev1Id}&service=openai`, 'providerKey', (e) => e.userId === dev1Id && e.service === 'openai'],
    ];
    for (const [filter, groupBy, keep] of cases) {
      const res = await gw.request(`/analytics/usage?${PERIOD}&groupBy=${groupBy}&${filter}`, { token: analyst });
      expect(res.status).toBe(200);
      expect(res.body.rows.map(strip).sort(byGroup)).toEqual(expected(groupBy, inRange.filter(keep)).sort(byGroup));
    }
  });

  it('answers format=csv with a parseable RFC 4180 attachment that matches the JSON', async () => {
    for (const groupBy of ['key', 'user', 'day']) {
      const json = (await gw.request(`/analytics/usage?${PERIOD}&groupBy=${groupBy}`, { token: analyst })).body.rows;
      const res = await gw.request(`/analytics/usage?${PERIOD}&groupBy=${groupBy}&format=csv`, { token: analyst });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/csv/);
      expect(res.headers.get('content-disposition')).toMatch(/^attachment; filename="usage-.+\.csv"$/);
      const [header, ...records] = parseCsv(res.text);
      expect(header).toEqual(['group', 'label', 'requests', 'errors', 'promptTokens', 'completionTokens', 'costUsd', 'costMicros', 'avgLatencyMs']);
      expect(records).toHaveLength(json.length);
      records.forEach((rec, i) => {
        const row = json[i];
        header.forEach((col, j) => {
          const value = row[col];
          if (typeof value === 'number') expect(Number(rec[j])).toBe(value);
          else if (value === null) expect(rec[j]).toBe('');
          // a name that a spreadsheet would run as a formula is defused with a leading apostrophe
          else expect(rec[j]).toBe(/^[=+\-@]/.test(value) ? `'${value}` : value);
        });
      });
    }
  });

  it('pins a developer to their own usage, whatever userId they ask for', async () => {
    const res = await gw.request(`/analytics/usage?${PERIOD}&groupBy=user&userId=${dev2Id}`, { token: dev1 });
    expect(res.status).toBe(200);
    expect(res.body.scope).toBe('own');
    expect(res.body.rows.map(strip)).toEqual(expected('user', inRange.filter((e) => e.userId === dev1Id)));
    const keys = await gw.request(`/analytics/usage?${PERIOD}&groupBy=key&keyId=${key2}`, { token: dev1 });
    expect(keys.body.rows).toEqual([]);
    const overview = await gw.request(`/analytics/overview?${PERIOD}`, { token: dev2 });
    expect(overview.status).toBe(200);
    const own = expected('user', inRange.filter((e) => e.userId === dev2Id))[0];
    expect(overview.body.totals).toMatchObject({ requests: own.requests, errors: own.errors, costMicros: own.costMicros });
    expect(overview.body.top.users.map((r: { group: string }) => r.group)).toEqual([dev2Id]);
  });

  it('gives analysts and admins everyone, and refuses anonymous callers', async () => {
    const res = await gw.request(`/analytics/usage?${PERIOD}&groupBy=user`, { token: analyst });
    expect(res.body.scope).toBe('all');
    expect(res.body.rows.map((r: { group: string | null }) => r.group).sort()).toEqual([dev1Id, dev2Id, null].sort());
    expect((await gw.request(`/analytics/usage?${PERIOD}`)).status).toBe(401);
    expect((await gw.request(`/analytics/overview`, { token: 'not-a-jwt' })).status).toBe(401);
  });

  it('summarises a period in /analytics/overview: totals, error rate, top lists', async () => {
    const res = await gw.request(`/analytics/overview?${PERIOD}&top=2`, { token: admin });
    expect(res.status).toBe(200);
    const all = expected('day').reduce(
      (t, r) => ({ requests: t.requests + r.requests, errors: t.errors + r.errors, cost: t.cost + r.costMicros }),
      { requests: 0, errors: 0, cost: 0 },
    );
    const latency = Math.round(inRange.reduce((a, e) => a + e.latencyMs, 0) / inRange.length);
    expect(res.body).toMatchObject({ from: '2025-03-01', to: '2025-03-03', scope: 'all' });
    expect(res.body.totals).toEqual({
      requests: all.requests,
      errors: all.errors,
      errorRate: all.errors / all.requests,
      promptTokens: 1360,
      completionTokens: 640,
      totalTokens: 2000,
      costMicros: all.cost,
      costUsd: all.cost / 1e6,
      avgLatencyMs: latency,
    });
    expect(res.body.top.services.map((r: { group: string }) => r.group)).toEqual(['openai', 'stripe']);
    expect(res.body.top.users.map((r: { group: string }) => r.group)).toEqual([dev1Id, dev2Id]);
    expect(res.body.top.keys).toHaveLength(2);
    expect(res.body.top.models[0]).toMatchObject({ group: 'gpt-4o', costMicros: 12000 });
  });

  it('defaults to the last 30 days up to today', async () => {
    const res = await gw.request('/analytics/usage?groupBy=user', { token: dev1 });
    const today = new Date().toISOString().slice(0, 10);
    expect(res.body.to).toBe(today);
    expect(res.body.from).toBe(new Date(Date.parse(today) - 29 * 86_400_000).toISOString().slice(0, 10));
    expect(res.body.rows).toEqual([expect.objectContaining({ group: dev1Id, requests: 1, promptTokens: 1, costMicros: 3 })]);
  });

  it.each([
    ['from=2025-02-30', 'query.from'],
    ['from=yesterday', 'query.from'],
    ['from=2025-03-05&to=2025-03-01', 'query.from'],
    ['from=2024-01-01&to=2025-03-01', 'query.from'],
    ['groupBy=week', 'query.groupBy'],
    ['format=xml', 'query.format'],
    ['userId=not-a-uuid', 'query.userId'],
  ])('refuses %s with a 400 naming %s', async (query, path) => {
    const res = await gw.request(`/analytics/usage?${query}`, { token: admin });
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ code: 'invalid_request', details: [expect.objectContaining({ path })] });
    expect(typeof res.body.error.message).toBe('string');
  });

  it('documents both routes and their query parameters in the OpenAPI document', async () => {
    const doc = (await gw.request('/openapi.json')).body;
    const usage = doc.paths['/analytics/usage'].get;
    expect(usage.parameters.map((p: { name: string }) => p.name)).toEqual(
      expect.arrayContaining(['from', 'to', 'groupBy', 'service', 'model', 'userId', 'keyId', 'format']),
    );
    expect(doc.paths['/analytics/overview'].get.tags).toEqual(['Analytics']);
  });

  it('prints the CLI report from the same functions: all users with a total, or one user by day', async () => {
    const withDeps: WithDeps = (fn) => fn(gw.deps);
    const run = async (...args: string[]) => {
      const program = new Command().exitOverride();
      registerUsageCommands(program, withDeps);
      const out: string[] = [];
      const spy = jest.spyOn(process.stdout, 'write').mockImplementation((chunk) => (out.push(String(chunk)), true));
      try {
        await program.parseAsync(['node', 'keywallet', 'usage', ...args]);
      } finally {
        spy.mockRestore();
      }
      return out.join('');
    };
    const all = (await run('--from', '2025-03-01', '--to', '2025-03-03')).split('\n');
    expect(all[0]).toBe('Usage 2025-03-01 .. 2025-03-03, all users');
    expect(all.find((l) => l.startsWith(dev1Email))).toMatch(/^\S+\s+4\s+0\s+0\.0%/);
    expect(all.find((l) => l.startsWith('(none)'))).toMatch(/^\(none\)\s+1\s+1\s+100\.0%/);
    expect(all.find((l) => l.startsWith('TOTAL'))).toMatch(/^TOTAL\s+8\s+3\s+37\.5%\s+1,360\s+640\s+\$0\.026520/);

    const one = (await run('--user', dev1Email.toUpperCase(), '--from', '2025-03-01', '--to', '2025-03-03')).split('\n');
    expect(one[0]).toBe(`Usage 2025-03-01 .. 2025-03-03 for ${dev1Email}`);
    expect(one.filter((l) => /^2025-03-0\d /.test(l)).map((l) => l.slice(0, 10))).toEqual(['2025-03-01', '2025-03-03']);
    await expect(run('--from', '2025-03-09', '--to', '2025-03-01')).rejects.toThrow(/must not be after/);
    await expect(run('--user', 'nobody@example.test')).rejects.toThrow(/no user/);
  });
});
