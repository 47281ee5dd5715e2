import type { Browser, BrowserContext, Page } from 'playwright-core';
import { startOpenAIMock, type MockUpstream } from '../mocks';
import { fakeSecret } from '../helpers/fake-secrets';
import { collectConsoleErrors, launchBrowser, newUserContext, screenshot, seriousA11yViolations } from './support/browser';
import { startConsoleGateway, type ConsoleGateway } from './support/gateway';
import { LoginPage, Shell } from './pages/console';
import { OverviewPage, UsageExplorer } from './pages/usage';

jest.setTimeout(240_000);

const ADMIN = 'admin@example.test';
const ADMIN_PASSWORD = 'admin password for usage';
const DEV = 'dev-usage@example.test';
const DEV_PASSWORD = 'developer password 1';
const ANALYST = 'analyst-usage@example.test';
const ANALYST_PASSWORD = 'analyst password 12';

/** RFC 4180 records (quoted fields may hold commas and doubled quotes). */
function parseCsv(text: string): string[][] {
  const out: string[][] = [];
  let rec: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') (field += '"'), i++;
      else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') rec.push(field), (field = '');
    else if (c === '\r' && text[i + 1] === '\n') rec.push(field), out.push(rec), (rec = []), (field = ''), i++;
    else field += c;
  }
  return out;
}

/**
 * The Overview and Usage pages in real Chromium against a real gateway process (embedded default): a developer's
 * /v1 call shows up in their chart without a reload; an analyst filters the explorer and exports exactly the rows
 * on screen; the admin's overview shows the wallet's health. Screenshots go to test-results/console/.
 */
describe('console overview and usage (embedded, Chromium)', () => {
  let gw: ConsoleGateway;
  let mock: MockUpstream;
  let browser: Browser;
  const contexts: BrowserContext[] = [];
  let devKey = '';
  let entryLabel = '';

  const chat = (model: string) =>
    fetch(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${devKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hello' }] }),
    });

  async function signedInPage(email: string, password: string): Promise<{ page: Page; errors: string[] }> {
    const context = await newUserContext(browser, gw.url);
    contexts.push(context);
    const page = await context.newPage();
    const errors = collectConsoleErrors(page);
    const login = new LoginPage(page);
    await login.open();
    await login.signIn(email, password);
    await new Shell(page).nav().waitFor();
    return { page, errors };
  }

  async function expectAccessible(page: Page, name: string) {
    await screenshot(page, name);
    expect([name, await seriousA11yViolations(page)]).toEqual([name, []]);
  }

  beforeAll(async () => {
    [mock, gw, browser] = await Promise.all([
      startOpenAIMock(),
      startConsoleGateway({ KEYWALLET_ADMIN_EMAIL: ADMIN, KEYWALLET_ADMIN_PASSWORD: ADMIN_PASSWORD }),
      launchBrowser(),
    ]);
    const admin = await gw.login(ADMIN, ADMIN_PASSWORD);
    expect((await gw.api('PATCH', '/services/openai', admin, { baseUrl: mock.url, allowPrivate: true })).status).toBe(200);
    entryLabel = 'free openai';
    const entry = await gw.api('POST', '/wallet/keys', admin, {
      secret: fakeSecret.openaiProject(),
      label: entryLabel,
      tier: 'free',
      priority: 1,
      quota: { limit: 1000, unit: 'requests', period: 'day' },
    });
    expect(entry.status).toBe(201);
    for (const [email, password, role] of [
      [DEV, DEV_PASSWORD, 'developer'],
      [ANALYST, ANALYST_PASSWORD, 'analyst'],
    ]) {
      expect((await gw.api('POST', '/users', admin, { email, password, role, plan: 'enterprise' })).status).toBe(201);
    }
    const dev = await gw.login(DEV, DEV_PASSWORD);
    const key = await gw.api<{ key: string }>('POST', '/api-keys', dev, { name: 'browser test', environment: 'live', scopes: ['chat', 'models'] });
    expect(key.status).toBe(201);
    devKey = key.body.key;
  });
  afterAll(async () => {
    for (const c of contexts) await c.close().catch(() => {});
    await browser?.close();
    await gw?.close();
    await mock?.close();
  });

  it('as a developer who makes a /v1 call, sees it in their own usage chart without reloading the page', async () => {
    const { page, errors } = await signedInPage(DEV, DEV_PASSWORD);
    await page.getByRole('heading', { name: 'Your usage', level: 1 }).waitFor();
    const overview = new OverviewPage(page);
    await overview.chart(/^Requests, /).locator('canvas').waitFor();
    expect(await overview.total('Requests')).toBe('0');
    await page.getByRole('heading', { name: 'Credits this month' }).waitFor();
    await page.getByText(/Plan .*requests a minute/).waitFor();

    const res = await chat('openai/gpt-4o-mini');
    expect(res.status).toBe(200);
    const navigations: string[] = [];
    page.on('framenavigated', (f) => f === page.mainFrame() && navigations.push(f.url()));
    // the page refreshes itself (every 15 s): no reload, no navigation
    await page.locator('dl[aria-label="Totals"]').getByText('1', { exact: true }).first().waitFor({ timeout: 40_000 });
    expect(await overview.total('Requests')).toBe('1');
    expect(await overview.latestLegend(/^Requests, /)).toMatch(/all:?\s*1$/);
    expect(navigations).toEqual([]);
    await expectAccessible(page, 'developer-overview');
    expect(errors.filter((e) => /Content Security Policy|Refused to/.test(e))).toEqual([]);
  });

  it('as an analyst, filters the usage explorer and exports exactly the rows on screen as CSV', async () => {
    expect((await chat('openai/gpt-4o-mini')).status).toBe(200);
    expect((await chat('openai/gpt-4o')).status).toBe(200);
    expect((await chat('no-such-model-anywhere')).status).toBeGreaterThanOrEqual(400);
    const { page } = await signedInPage(ANALYST, ANALYST_PASSWORD);
    await new Shell(page).go('Usage');
    const explorer = new UsageExplorer(page);
    await explorer.filter({ groupBy: 'Model' });
    await explorer.table().getByRole('cell', { name: 'gpt-4o', exact: true }).waitFor();
    await explorer.filter({ status: '2xx' });
    await page.waitForURL(/status=2xx/);
    await explorer.table().getByRole('cell', { name: 'gpt-4o-mini', exact: true }).waitFor();
    // the failed call (no model resolved) is not a 2xx: only the two models remain
    await page.waitForFunction(() => (globalThis as any).document.querySelectorAll('table[aria-label="Usage by group"] tbody tr').length === 2);
    const onScreen = await explorer.rows();
    expect(onScreen.map((r) => [r[0], r[1]]).sort()).toEqual([
      ['gpt-4o', '1'],
      ['gpt-4o-mini', '2'],
    ]);

    const csv = await explorer.exportCsv();
    expect(csv.name).toMatch(/^usage-model-.+\.csv$/);
    const [header, ...records] = parseCsv(csv.text);
    expect(header).toEqual(['group', 'label', 'requests', 'errors', 'promptTokens', 'completionTokens', 'costUsd', 'costMicros', 'avgLatencyMs']);
    expect(records.map((r) => [r[1], r[2], r[3]])).toEqual(onScreen.map((r) => [r[0], r[1], r[2]]));
    await expectAccessible(page, 'usage-explorer');
  });

  it('as admin, the overview shows everyone’s usage, the top lists and the wallet at a glance', async () => {
    const { page, errors } = await signedInPage(ADMIN, ADMIN_PASSWORD);
    await page.getByRole('heading', { name: 'Overview', level: 1 }).waitFor();
    const overview = new OverviewPage(page);
    const health = overview.walletHealth();
    await health.waitFor();
    await health.getByText('Quota used this period').waitFor();
    expect(await health.getByRole('progressbar').first().getAttribute('aria-label')).toMatch(/^\d+ of 1,000 requests this day$/);
    await page.getByRole('table', { name: 'Top users' }).getByText(DEV).waitFor();
    await page.getByRole('table', { name: 'Top models' }).getByText('gpt-4o-mini').waitFor();
    for (const caption of [/^Requests, /, /^Spend, /, /^Error rate, /, /^Latency, /]) await overview.chart(caption).locator('canvas').waitFor();
    expect(Number(await overview.total('Requests'))).toBeGreaterThanOrEqual(4);
    await expectAccessible(page, 'admin-overview');
    expect(errors.filter((e) => /Content Security Policy|Refused to/.test(e))).toEqual([]);
  });
});
