import crypto from 'node:crypto';
import { Command } from 'commander';
import { TEST_BACKEND } from '../helpers/backend';
import { createGatewayKey } from '../helpers/keys';
import { startLlmEnv, type LlmTestEnv } from '../helpers/llm';
import type { UsageEvent } from '../../src/usage/event';
import { registerUsageCommands } from '../../scripts/commands/usage';
import type { WithDeps } from '../../scripts/cli';

/**
 * Issue 17, attribution: every usage event carries the key's team at call time; analytics, CSV, the CLI report and
 * GET /teams/:id/usage group and filter by it; events of keys in no team (and every event from before teams) stay
 * organisation level (team null).
 */
describe(`team attribution (${TEST_BACKEND})`, () => {
  let env: LlmTestEnv;
  let admin: string;
  let analyst: string;
  type U = { id: string; token: string };
  let leadA: U; // team admin of alpha
  let memberA: U; // member of alpha
  let leadB: U; // team admin of beta
  let outsider: U; // in no team
  let alpha: string;
  let beta: string;
  let keyA: { id: string; key: string };
  let keyOrg: { id: string; key: string };

  const req = (path: string, token: string | undefined, method = 'GET', body?: unknown) => env.gw.request(path, { method, token, body });
  const newUser = async (): Promise<U> => {
    const { user, token } = await env.gw.user('developer', undefined, 'enterprise');
    return { id: user.id, token };
  };
  const chat = (key: string) =>
    fetch(`${env.gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }], max_tokens: 5 }),
    });

  // synthetic events in a closed period of their own (March 2025), so the figures are known exactly
  const day = (d: number, h = 10) => Date.parse(`2025-03-0${d}T${String(h).padStart(2, '0')}:00:00Z`);
  const synthetic: UsageEvent[] = [];
  function event(ts: number, teamId: string | null | undefined, userId: string, cost: number, status = 200): UsageEvent {
    return {
      ts, requestId: crypto.randomUUID(), gatewayKeyId: null, userId, walletEntryId: null, surface: 'chat', service: 'openai', model: 'gpt-4o',
      status, errorCode: status >= 400 ? 'x' : null, latencyMs: 10, upstreamLatencyMs: null, promptTokens: 10, completionTokens: 5,
      costMicros: cost, estimated: false, stream: false, attempts: 1, ...(teamId === undefined ? {} : { teamId }),
    };
  }

  beforeAll(async () => {
    env = await startLlmEnv();
    admin = env.adminToken;
    analyst = (await env.gw.user('analyst')).token;
    [leadA, memberA, leadB, outsider] = [await newUser(), await newUser(), await newUser(), await newUser()];
    alpha = (await req('/teams', admin, 'POST', { name: 'Alpha', slug: 'alpha' })).body.id;
    beta = (await req('/teams', admin, 'POST', { name: 'Beta', slug: 'beta' })).body.id;
    for (const [team, user, role] of [[alpha, leadA, 'team_admin'], [alpha, memberA, 'member'], [beta, leadB, 'team_admin']] as const) {
      expect((await req(`/teams/${team}/members`, admin, 'POST', { userId: user.id, role })).status).toBe(201);
    }
    keyA = await createGatewayKey(env.gw, memberA.token, { teamId: alpha });
    keyOrg = await createGatewayKey(env.gw, memberA.token);
    synthetic.push(
      event(day(1), alpha, memberA.id, 1000),
      event(day(1, 11), alpha, leadA.id, 2000, 429),
      event(day(2), beta, leadB.id, 4000),
      event(day(2, 12), null, outsider.id, 8000),
      event(day(3), undefined, outsider.id, 16000), // an event built before teams existed: no teamId at all
    );
    for (const e of synthetic) env.gw.deps.usage.record(e);
    await env.gw.deps.usage.flush();
  }, 120_000);
  afterAll(() => env.close());

  const PERIOD = 'from=2025-03-01&to=2025-03-03';

  it("records the key's team on each call's usage event; a key in no team leaves it null", async () => {
    const inTeam = await chat(keyA.key);
    expect(inTeam.status).toBe(200);
    const orgLevel = await chat(keyOrg.key);
    expect(orgLevel.status).toBe(200);
    expect((await env.usageOf(inTeam.headers.get('x-request-id')!)).team_id).toBe(alpha);
    expect((await env.usageOf(orgLevel.headers.get('x-request-id')!)).team_id).toBeNull();
    const today = new Date().toISOString().slice(0, 10);
    const daily = await env.gw.deps.db('usage_daily').where({ day: today, gateway_key_id: keyA.id }).select('team_id', 'requests');
    expect(daily.map((r: { team_id: string; requests: string | number }) => [r.team_id, Number(r.requests)])).toEqual([[alpha, 1]]);
    const hourly = await env.gw.deps.db('usage_hourly').where({ gateway_key_id: keyOrg.id }).pluck('team_id');
    expect(hourly).toEqual(['00000000-0000-0000-0000-000000000000']);
  });

  it('counts the calls per team in a bounded Prometheus label (the slug; none for keys in no team), never per user', async () => {
    const text = await env.gw.deps.metrics.registry.metrics();
    expect(text).toMatch(/keywallet_team_requests_total\{team="alpha",status_class="2xx"\} [1-9]/);
    expect(text).toMatch(/keywallet_team_requests_total\{team="none",status_class="2xx"\} [1-9]/);
    expect(text).not.toContain(memberA.id);
    expect(text).not.toContain(keyA.id);
  });

  it('groups /analytics/usage by team (null = organisation level, old events included) and filters by teamId', async () => {
    const res = await req(`/analytics/usage?${PERIOD}&groupBy=team`, admin);
    expect(res.status).toBe(200);
    const byTeam = Object.fromEntries(res.body.rows.map((r: { group: string | null; label: string | null; requests: number; costMicros: number; errors: number }) => [
      String(r.group), { label: r.label, requests: r.requests, costMicros: r.costMicros, errors: r.errors },
    ]));
    expect(byTeam).toEqual({
      [alpha]: { label: 'Alpha', requests: 2, costMicros: 3000, errors: 1 },
      [beta]: { label: 'Beta', requests: 1, costMicros: 4000, errors: 0 },
      null: { label: null, requests: 2, costMicros: 24000, errors: 0 },
    });
    const filtered = await req(`/analytics/usage?${PERIOD}&groupBy=user&teamId=${alpha}`, analyst);
    expect(filtered.body.rows.map((r: { group: string }) => r.group).sort()).toEqual([leadA.id, memberA.id].sort());
    // the hourly rollups carry the team too (status class forces them)
    const hourly = await req(`/analytics/usage?${PERIOD}&groupBy=status&teamId=${alpha}`, admin);
    expect(hourly.body.rows.map((r: { group: string; requests: number }) => [r.group, r.requests]).sort()).toEqual([['2xx', 1], ['429', 1]]);
    const series = await req(`/analytics/timeseries?${PERIOD}&bucket=day&groupBy=team`, admin);
    expect(series.status).toBe(200);
    const alphaSeries = series.body.series.find((s: { group: string }) => s.group === alpha);
    expect(alphaSeries.label).toBe('Alpha');
    expect(alphaSeries.points.map((p: { requests: number }) => p.requests)).toEqual([2, 0, 0]);
    expect(series.body.series.find((s: { group: string | null }) => s.group === null).label).toBe('none');
  });

  it('pins a developer to their own usage whatever teamId they ask for', async () => {
    const res = await req(`/analytics/usage?${PERIOD}&groupBy=user&teamId=${alpha}`, outsider.token);
    expect(res.status).toBe(200);
    expect(res.body.scope).toBe('own');
    expect(res.body.rows).toEqual([]);
    const own = await req(`/analytics/usage?${PERIOD}&groupBy=team`, outsider.token);
    expect(own.body.rows.map((r: { group: string | null; requests: number }) => [r.group, r.requests])).toEqual([[null, 2]]);
  });

  it('exports the team grouping as CSV', async () => {
    const res = await env.gw.request(`/analytics/usage?${PERIOD}&groupBy=team&format=csv`, { token: admin });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/csv');
    const lines = res.text.trim().split('\r\n');
    expect(lines[0]).toBe('group,label,requests,errors,promptTokens,completionTokens,costUsd,costMicros,avgLatencyMs');
    expect(lines).toContain(`${alpha},Alpha,2,1,20,10,0.003,3000,10`);
    expect(lines).toContain(',,2,0,20,10,0.024,24000,10');
  });

  it('prints the CLI report by team, and for one team by user', async () => {
    const withDeps: WithDeps = (fn) => fn(env.gw.deps);
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
      return out.join('').split('\n');
    };
    const byTeam = await run('--by', 'team', '--from', '2025-03-01', '--to', '2025-03-03');
    expect(byTeam[2]).toMatch(/^TEAM\s+REQUESTS/);
    expect(byTeam.find((l) => l.startsWith('Alpha'))).toMatch(/^Alpha\s+2\s+1\s+50\.0%/);
    expect(byTeam.find((l) => l.startsWith('(none)'))).toMatch(/^\(none\)\s+2\s+0/);
    const oneTeam = await run('--team', 'ALPHA', '--from', '2025-03-01', '--to', '2025-03-03');
    expect(oneTeam[0]).toBe('Usage 2025-03-01 .. 2025-03-03, all users in team alpha');
    expect(oneTeam.find((l) => l.startsWith('TOTAL'))).toMatch(/^TOTAL\s+2\s+1/);
    await expect(run('--team', 'nope')).rejects.toThrow(/no team/);
  });

  describe('GET /teams/:id/usage', () => {
    const usage = (team: string, token: string | undefined, query = PERIOD) => req(`/teams/${team}/usage?${query}`, token);

    it("gives admins, analysts and the team's own team admin that team's usage only", async () => {
      for (const token of [admin, analyst, leadA.token]) {
        const res = await usage(alpha, token, `${PERIOD}&groupBy=user`);
        expect(res.status).toBe(200);
        expect(res.body).toMatchObject({ teamId: alpha, from: '2025-03-01', to: '2025-03-03', groupBy: 'user', totals: { requests: 2, costMicros: 3000 } });
        expect(res.body.rows.map((r: { group: string }) => r.group).sort()).toEqual([leadA.id, memberA.id].sort());
      }
      const csv = await env.gw.request(`/teams/${alpha}/usage?${PERIOD}&groupBy=day&format=csv`, { token: leadA.token });
      expect(csv.status).toBe(200);
      expect(csv.text.trim().split('\r\n').slice(1).map((l) => l.split(',')[0])).toEqual(['2025-03-01']);
    });

    it('refuses: no credential (401), a member, a developer, a team admin of another team (403), nothing read', async () => {
      expect((await usage(alpha, undefined)).status).toBe(401);
      for (const token of [memberA.token, outsider.token, leadB.token]) {
        const res = await usage(alpha, token);
        expect(res.status).toBe(403);
        expect(res.body.error.code).toBe('forbidden');
        expect(res.text).not.toContain('3000');
      }
      expect((await usage(beta, leadA.token)).status).toBe(403);
      // a non-admin cannot tell a missing team from someone else's; an admin gets the 404
      const missing = crypto.randomUUID();
      expect((await usage(missing, leadA.token)).status).toBe(403);
      expect((await usage(missing, admin)).status).toBe(404);
    });

    it("keeps the wallet out of a team admin's view (no grouping by provider key) and refuses hostile input with a 400", async () => {
      const byEntry = await usage(alpha, leadA.token, `${PERIOD}&groupBy=providerKey`);
      expect(byEntry.status).toBe(403);
      expect((await usage(alpha, admin, `${PERIOD}&groupBy=providerKey`)).status).toBe(200);
      for (const [path, query] of [
        ['not-a-uuid', PERIOD],
        [alpha, 'groupBy=week'],
        [alpha, "from=2025-03-01';drop table teams;--"],
        [alpha, 'format=xml'],
        [alpha, `teamId=${beta}`],
      ]) {
        const res = await req(`/teams/${path}/usage?${query}`, admin);
        expect(res.status).toBe(400);
        expect(res.body.error.code).toBe('invalid_request');
      }
      expect(await env.gw.deps.db('teams').whereIn('id', [alpha, beta]).pluck('slug')).toHaveLength(2);
    });

    it('is documented in the OpenAPI document under Teams', async () => {
      const doc = (await req('/openapi.json', undefined)).body;
      const op = doc.paths['/teams/{id}/usage'].get;
      expect(op.tags).toEqual(['Teams']);
      expect(op.parameters.map((p: { name: string }) => p.name)).toEqual(expect.arrayContaining(['id', 'from', 'to', 'groupBy', 'format']));
      expect(doc.paths['/analytics/usage'].get.parameters.map((p: { name: string }) => p.name)).toContain('teamId');
    });
  });
});
