import { TEST_BACKEND } from '../helpers/backend';
import { startLlmEnv, type LlmTestEnv } from '../helpers/llm';
import { putTeamBudget, teamWithKey } from '../helpers/budgets';
import { eventually } from '../helpers/limits';

/** The budget chain on the real gateway path: a /v1 call is refused by its team's budget, or billed to it at its real cost. */
describe(`team budgets through /v1 (${TEST_BACKEND})`, () => {
  let env: LlmTestEnv;
  beforeAll(async () => {
    env = await startLlmEnv();
  });
  afterAll(() => env.close());

  const chat = (key: string) =>
    fetch(`${env.gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }], max_tokens: 50 }),
    });

  it("refuses a call its team's budget cannot cover (402, naming the team), then bills the team the call's real cost", async () => {
    const t = await teamWithKey(env.gw, env.adminToken, { budget: 0.000001 });
    const refused = await chat(t.key);
    expect(refused.status).toBe(402);
    const body = (await refused.json()) as { error: unknown };
    expect(body.error).toMatchObject({ code: 'insufficient_credits', message: expect.stringContaining("this API key's team") });
    expect(env.openai.requests.length).toBe(0); // nothing reached the provider

    await putTeamBudget(env.gw, env.adminToken, t.teamId, { budget: 1 });
    const ok = await chat(t.key);
    expect(ok.status).toBe(200);
    expect(Number(ok.headers.get('x-keywallet-credits-remaining'))).toBeLessThanOrEqual(1);
    const usage = await env.usageOf(ok.headers.get('x-request-id')!);
    expect(Number(usage.cost_micros)).toBeGreaterThan(0);
    // the reservation (50 output tokens) was settled to the real cost on the team's counter
    await eventually(async () => (await env.gw.request(`/teams/${t.teamId}/budget`, { token: env.adminToken })).body.spent === Number(usage.cost_micros) / 1e6);
  });
});
