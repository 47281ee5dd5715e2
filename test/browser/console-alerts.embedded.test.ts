import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { startOpenAIMock, type MockUpstream } from '../mocks';
import { fakeSecret } from '../helpers/fake-secrets';
import { launchBrowser, newUserContext, screenshot, seriousA11yViolations } from './support/browser';
import { startConsoleGateway, type ConsoleGateway } from './support/gateway';
import { LoginPage, Shell } from './pages/console';
import { UsageExplorer } from './pages/usage';

jest.setTimeout(180_000);

const ADMIN = 'alerts-admin@example.test';
const ADMIN_PASSWORD = 'alerts admin password';
const DEV = 'alerts-dev@example.test';
const DEV_PASSWORD = 'alerts developer password';

/**
 * The views over what issue 17's other helpers added: a team's usage (GET /teams/:id/usage) on the Teams page, and
 * webhooks (add with the secret shown once, a signed test delivered to a real receiver, the delivery log, pause),
 * for an admin and for a team admin (budget alerts of their own team only).
 */
describe('console team usage and webhooks (embedded, Chromium)', () => {
  let gw: ConsoleGateway;
  let mock: MockUpstream;
  let browser: Browser;
  let receiver: http.Server;
  let receiverUrl = '';
  const received: { headers: http.IncomingHttpHeaders; body: string }[] = [];
  const contexts: BrowserContext[] = [];
  let admin: string;
  let teamId: string;

  async function signedInPage(email: string, password: string): Promise<Page> {
    const context = await newUserContext(browser, gw.url);
    contexts.push(context);
    const page = await context.newPage();
    await new LoginPage(page).open();
    await new LoginPage(page).signIn(email, password);
    await new Shell(page).nav().waitFor();
    return page;
  }

  async function expectAccessible(page: Page, name: string) {
    await screenshot(page, name);
    expect([name, await seriousA11yViolations(page)]).toEqual([name, []]);
  }

  beforeAll(async () => {
    receiver = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        received.push({ headers: req.headers, body });
        res.writeHead(200).end('ok');
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks/keywallet`;
    [mock, gw, browser] = await Promise.all([
      startOpenAIMock(),
      startConsoleGateway({ KEYWALLET_ADMIN_EMAIL: ADMIN, KEYWALLET_ADMIN_PASSWORD: ADMIN_PASSWORD }),
      launchBrowser(),
    ]);
    admin = await gw.login(ADMIN, ADMIN_PASSWORD);
    expect((await gw.api('PATCH', '/services/openai', admin, { baseUrl: mock.url, allowPrivate: true })).status).toBe(200);
    expect((await gw.api('POST', '/wallet/keys', admin, { secret: fakeSecret.openaiProject(), label: 'alerts openai', tier: 'paid', priority: 1 })).status).toBe(201);
    const dev = await gw.api<{ id: string }>('POST', '/users', admin, { email: DEV, password: DEV_PASSWORD, role: 'developer', plan: 'enterprise' });
    expect(dev.status).toBe(201);
    const team = await gw.api<{ id: string }>('POST', '/teams', admin, { name: 'Research', slug: 'research' });
    expect(team.status).toBe(201);
    teamId = team.body.id;
    expect((await gw.api('POST', `/teams/${teamId}/members`, admin, { userId: dev.body.id, role: 'team_admin' })).status).toBe(201);
    const devToken = await gw.login(DEV, DEV_PASSWORD);
    const key = await gw.api<{ key: string }>('POST', '/api-keys', devToken, { name: 'research key', scopes: ['chat'], teamId });
    expect(key.status).toBe(201);
    for (let i = 0; i < 2; i++) {
      const res = await fetch(`${gw.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key.body.key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'openai/gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }),
      });
      expect(res.status).toBe(200);
    }
    // the usage writer flushes in the background: wait until the team's report has both calls
    const today = new Date().toISOString().slice(0, 10);
    for (let i = 0; ; i++) {
      const usage = await gw.api<{ totals: { requests: number } }>('GET', `/teams/${teamId}/usage?from=${today}&to=${today}`, admin);
      if (usage.body?.totals?.requests === 2) break;
      if (i > 100) throw new Error(`team usage never reached 2 requests: ${JSON.stringify(usage.body)}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  });
  afterAll(async () => {
    for (const c of contexts) await c.close().catch(() => {});
    await browser?.close();
    await gw?.close();
    await mock?.close();
    await new Promise((resolve) => receiver?.close(resolve));
  });

  it("as admin, reads a team's usage by user on the Teams page", async () => {
    const page = await signedInPage(ADMIN, ADMIN_PASSWORD);
    await new Shell(page).go('Teams');
    await page.getByRole('button', { name: 'Usage of Research' }).click();
    const usage = page.getByRole('region', { name: 'Usage of Research' });
    await usage.getByText(/^2 requests, 0 errors/).waitFor();
    const row = usage.getByRole('table', { name: 'Usage of Research by user' }).getByRole('row').filter({ hasText: DEV });
    expect((await row.innerText()).split('\t').slice(0, 3)).toEqual([DEV, '2', '0']);
    await usage.getByLabel("Group Research's usage by").selectOption('model');
    await usage.getByRole('table', { name: 'Usage of Research by model' }).getByRole('cell', { name: 'gpt-4o-mini', exact: true }).waitFor();
    await expectAccessible(page, 'teams-usage');

    // the usage explorer groups by team too (attributed at call time)
    await new Shell(page).go('Usage');
    const explorer = new UsageExplorer(page);
    await explorer.filter({ groupBy: 'Team' });
    await explorer.table().getByRole('cell', { name: 'Research', exact: true }).waitFor();
    expect((await explorer.rows()).find((r) => r[0] === 'Research')?.[1]).toBe('2');
  });

  it('as admin, sets the organisation budget and a team budget split per member', async () => {
    const page = await signedInPage(ADMIN, ADMIN_PASSWORD);
    await new Shell(page).go('Teams');
    const org = page.getByRole('form', { name: 'Organisation budget' });
    await org.getByLabel('Organisation budget (USD per period)').fill('5000');
    await org.getByLabel('Organisation budget period').selectOption('monthly');
    await org.getByRole('button', { name: 'Save organisation budget' }).click();
    await org.getByRole('progressbar', { name: /^The organisation this period: \$[\d.]+ of \$5000\.00 spent$/ }).waitFor();
    expect((await gw.api<{ budget: number; period: string }>('GET', '/org/budget', admin)).body).toMatchObject({ budget: 5000, period: 'monthly' });

    await page.getByRole('button', { name: 'Budget of Research' }).click();
    const form = page.getByRole('form', { name: 'Budget of Research' });
    await form.getByLabel('Team budget (USD per period)').fill('100');
    await form.getByLabel(`Share of ${DEV}`).fill('40');
    await form.getByRole('button', { name: 'Save budget' }).click();
    await form.getByRole('progressbar', { name: new RegExp(`^${DEV.replace(/[.]/g, '\\.')}: \\$[\\d.]+ of \\$40\\.00 spent$`) }).waitFor();
    const budget = (await gw.api<{ budget: number; members: { email: string; budget: number | null }[] }>('GET', `/teams/${teamId}/budget`, admin)).body;
    expect(budget.budget).toBe(100);
    expect(budget.members.find((m) => m.email === DEV)?.budget).toBe(40);
    await expectAccessible(page, 'teams-budget-admin');
  });

  it("as a team admin, splits the team's budget but reads the refusal when raising it", async () => {
    const page = await signedInPage(DEV, DEV_PASSWORD);
    await new Shell(page).go('Teams');
    expect(await page.getByRole('form', { name: 'Organisation budget' }).count()).toBe(0);
    await page.getByRole('button', { name: 'Budget of Research' }).click();
    const form = page.getByRole('form', { name: 'Budget of Research' });
    expect(await form.getByLabel('Budget period').isDisabled()).toBe(true);
    await form.getByLabel('Team budget (USD per period)').fill('500');
    await form.getByRole('button', { name: 'Save budget' }).click();
    await form.getByRole('alert').waitFor();
    expect((await gw.api<{ budget: number }>('GET', `/teams/${teamId}/budget`, admin)).body.budget).toBe(100);
    await form.getByLabel('Team budget (USD per period)').fill('100');
    await form.getByLabel(`Share of ${DEV}`).fill('250');
    await form.getByRole('button', { name: 'Save budget' }).click();
    await form.getByRole('alert').getByText(/422 budget_exceeds_team/).waitFor();
    await form.getByLabel(`Share of ${DEV}`).fill('25');
    await form.getByRole('button', { name: 'Save budget' }).click();
    for (let i = 0; ; i++) {
      const b = (await gw.api<{ members: { email: string; budget: number | null }[] }>('GET', `/teams/${teamId}/budget`, admin)).body;
      if (b.members.find((m) => m.email === DEV)?.budget === 25) break;
      if (i > 50) throw new Error('the share was not saved');
      await page.waitForTimeout(100);
    }
    await expectAccessible(page, 'teams-budget-team-admin');
  });

  it('as admin, adds a webhook, sees its secret once, sends a signed test and reads the delivery log', async () => {
    const page = await signedInPage(ADMIN, ADMIN_PASSWORD);
    await new Shell(page).go('Webhooks');
    await page.getByText('No webhooks yet.').waitFor();
    await page.getByRole('button', { name: 'Add a webhook' }).click();
    const form = page.getByRole('form', { name: 'Add a webhook' });
    await form.getByLabel('URL').fill(receiverUrl);
    await form.getByLabel('Description').fill('ops pager');
    await form.getByLabel('Allow a private or loopback address').check();
    await form.getByLabel('wallet.free_tier_exhausted').uncheck();
    await form.getByRole('button', { name: 'Add webhook' }).click();
    const secret = (await page.getByLabel('Webhook signing secret').innerText()).trim();
    expect(secret.length).toBeGreaterThanOrEqual(16);
    await expectAccessible(page, 'webhooks-secret');
    await page.getByRole('button', { name: 'I have stored it' }).click();
    const table = page.getByRole('table', { name: 'Webhooks' });
    await table.getByText('ops pager').waitFor();
    expect(await table.innerText()).not.toContain(secret);
    const hooks = (await gw.api<{ data: { id: string; events: string[]; url: string }[] }>('GET', '/webhooks', admin)).body.data;
    expect(hooks.map((h) => [h.url, h.events.includes('wallet.free_tier_exhausted')])).toEqual([[receiverUrl, false]]);

    await page.getByRole('button', { name: 'Send a test to ops pager' }).click();
    await page.getByRole('status').getByText(/Test sent: succeeded, the receiver answered 200/).waitFor();
    const log = page.getByRole('table', { name: 'Deliveries of ops pager' });
    await log.getByRole('cell', { name: 'webhook.test' }).waitFor();
    expect(received.length).toBe(1);
    expect(String(received[0].headers['x-keywallet-signature'])).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
    await expectAccessible(page, 'webhooks-deliveries');

    await page.getByRole('button', { name: 'Pause ops pager' }).click();
    await table.getByText('paused').waitFor();
    expect((await gw.api<{ enabled: boolean }>('GET', `/webhooks/${hooks[0].id}`, admin)).body.enabled).toBe(false);
  });

  it("as a team admin, adds a webhook for their team's budget alerts only", async () => {
    const page = await signedInPage(DEV, DEV_PASSWORD);
    await new Shell(page).go('Webhooks');
    await page.getByRole('button', { name: 'Add a webhook' }).click();
    const form = page.getByRole('form', { name: 'Add a webhook' });
    expect(await form.getByLabel('Allow a private or loopback address').count()).toBe(0);
    await form.getByLabel('For').selectOption({ label: 'Team Research (budget alerts)' });
    expect(await form.getByLabel('wallet.entry_invalid').isDisabled()).toBe(true);
    expect(await form.getByLabel('budget.threshold').isChecked()).toBe(true);
    await form.getByLabel('URL').fill('https://93.184.215.14/hooks/research');
    await form.getByRole('button', { name: 'Add webhook' }).click();
    await page.getByLabel('Webhook signing secret').waitFor();
    await page.getByRole('button', { name: 'I have stored it' }).click();
    await page.getByRole('table', { name: 'Webhooks' }).getByText('team Research').waitFor();
    await expectAccessible(page, 'webhooks-team-admin');
    const mine = (await gw.api<{ data: { teamId: string | null; events: string[] }[] }>('GET', '/webhooks', admin)).body.data.filter((h) => h.teamId === teamId);
    expect(mine.map((h) => h.events)).toEqual([['budget.threshold']]);
  });
});
