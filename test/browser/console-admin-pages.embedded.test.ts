import type { Browser, BrowserContext, Page } from 'playwright-core';
import { fakeSecret } from '../helpers/fake-secrets';
import { launchBrowser, newUserContext, screenshot, seriousA11yViolations } from './support/browser';
import { startConsoleGateway, type ConsoleGateway } from './support/gateway';
import { LoginPage, Shell } from './pages/console';

jest.setTimeout(180_000);

const ADMIN = 'ops@example.test';
const ADMIN_PASSWORD = 'ops admin password 1';

/** The admin's registry pages in Chromium: import, routing explain, alias chains, plans, services, audit. */
describe('console admin pages (embedded, Chromium)', () => {
  let gw: ConsoleGateway;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let token: string;

  async function expectAccessible(name: string) {
    await screenshot(page, name);
    expect([name, await seriousA11yViolations(page)]).toEqual([name, []]);
  }

  beforeAll(async () => {
    [gw, browser] = await Promise.all([startConsoleGateway({ KEYWALLET_ADMIN_EMAIL: ADMIN, KEYWALLET_ADMIN_PASSWORD: ADMIN_PASSWORD }), launchBrowser()]);
    token = await gw.login(ADMIN, ADMIN_PASSWORD);
    context = await newUserContext(browser, gw.url);
    page = await context.newPage();
    await new LoginPage(page).open();
    await new LoginPage(page).signIn(ADMIN, ADMIN_PASSWORD);
    await new Shell(page).nav().waitFor();
  });
  afterAll(async () => {
    await context?.close();
    await browser?.close();
    await gw?.close();
  });

  it('imports wallet entries from pasted JSON: a masked preview first, then a result per entry', async () => {
    await new Shell(page).go('Wallet');
    await page.getByRole('button', { name: 'Import keys' }).click();
    const secret = fakeSecret.openaiProject();
    await page.getByLabel('JSON array or dotenv lines').fill(JSON.stringify([{ secret, label: 'imported one' }, { label: 'no secret here' }]));
    await page.getByRole('button', { name: 'Preview' }).click();
    const preview = page.getByRole('table', { name: 'Import preview' });
    await preview.waitFor();
    expect(await preview.innerText()).toContain(`…${secret.slice(-4)}`);
    expect(await preview.innerText()).not.toContain(secret);
    await page.getByRole('button', { name: 'Import 2 entries' }).click();
    await page.getByText('1 added, 1 failed.').waitFor();
    const results = await page.getByRole('table', { name: 'Import results' }).innerText();
    expect(results).toContain('Added (openai)');
    expect(results).toMatch(/secret/i);
    await expectAccessible('wallet-import');
  });

  it('explains routing for a service as an ordered list with the reason per candidate', async () => {
    await new Shell(page).go('Routing');
    await page.getByLabel('Service').selectOption('openai');
    await page.getByRole('button', { name: 'Explain' }).click();
    const list = page.getByRole('list', { name: 'Candidates in the order they would be tried' });
    await list.waitFor();
    expect(await list.getByRole('listitem').first().innerText()).toContain('imported one');
    await expectAccessible('routing');
  });

  it('reorders an alias chain with the keyboard and saves it', async () => {
    const before = (await gw.api<{ data: { alias: string; targets: { service: string; model: string }[] }[] }>('GET', '/models', token)).body.data;
    const alias = before.find((a) => a.targets.length >= 2)!;
    const [first, second] = alias.targets;
    await new Shell(page).go('Models');
    const section = page.getByRole('region', { name: `Alias ${alias.alias}` });
    await section.getByRole('button', { name: `Move ${first.service}/${first.model} down` }).focus();
    await page.keyboard.press('Enter');
    await section.getByRole('button', { name: 'Save chain' }).click();
    await section.getByRole('button', { name: 'Save chain' }).isDisabled();
    for (let i = 0; i < 50; i++) {
      const now = (await gw.api<{ data: { alias: string; targets: { model: string }[] }[] }>('GET', '/models', token)).body.data.find((a) => a.alias === alias.alias)!;
      if (now.targets[0].model === second.model) break;
      await page.waitForTimeout(100);
    }
    const after = (await gw.api<{ data: { alias: string; targets: { model: string }[] }[] }>('GET', '/models', token)).body.data.find((a) => a.alias === alias.alias)!;
    expect(after.targets.slice(0, 2).map((t) => t.model)).toEqual([second.model, first.model]);
    await expectAccessible('models');
  });

  it('reorders an alias chain by dragging a target with the mouse, and the API has the saved order', async () => {
    type Alias = { alias: string; targets: { service: string; model: string }[] };
    const aliases = async () => (await gw.api<{ data: Alias[] }>('GET', '/models', token)).body.data;
    const alias = (await aliases()).find((a) => a.targets.length >= 3) ?? (await aliases()).find((a) => a.targets.length >= 2)!;
    const names = alias.targets.map((t) => `${t.service}/${t.model}`);
    await new Shell(page).go('Models');
    const section = page.getByRole('region', { name: `Alias ${alias.alias}` });
    const handle = section.getByRole('button', { name: `Drag ${names[0]} (position 1 of ${names.length})` });
    const last = section.locator(`li[data-target="${names[names.length - 1]}"]`);
    const from = (await handle.boundingBox())!;
    const to = (await last.boundingBox())!;
    await page.mouse.move(from.x + from.width / 2, from.y + from.height / 2);
    await page.mouse.down();
    // past the activation distance, then onto the last row in steps (dnd-kit follows pointer moves)
    await page.mouse.move(from.x + from.width / 2, from.y + from.height / 2 + 10, { steps: 3 });
    await page.mouse.move(from.x + from.width / 2, to.y + to.height / 2 + 4, { steps: 12 });
    await page.mouse.up();
    const expected = [...names.slice(1), names[0]];
    await page.waitForFunction(
      ([sel, want]) => Array.from((globalThis as any).document.querySelectorAll(sel)).map((li: any) => li.dataset.target).join('|') === want,
      [`section[aria-label="Alias ${alias.alias}"] li[data-target]`, expected.join('|')] as const,
    );
    await section.getByRole('button', { name: 'Save chain' }).click();
    for (let i = 0; i < 50; i++) {
      const now = (await aliases()).find((a) => a.alias === alias.alias)!;
      if (now.targets.map((t) => `${t.service}/${t.model}`).join('|') === expected.join('|')) break;
      await page.waitForTimeout(100);
    }
    expect((await aliases()).find((a) => a.alias === alias.alias)!.targets.map((t) => `${t.service}/${t.model}`)).toEqual(expected);
    await expectAccessible('models-dragged');
  });

  it('edits a plan', async () => {
    await new Shell(page).go('Plans');
    await page.getByRole('button', { name: 'Edit plan pro' }).click();
    const form = page.getByRole('form', { name: 'Edit plan pro' });
    await form.getByLabel('Requests per minute').fill('777');
    await form.getByRole('button', { name: 'Save plan' }).click();
    await page.getByRole('table', { name: 'Plans' }).getByRole('cell', { name: '777', exact: true }).waitFor();
    expect((await gw.api<{ rpm: number }>('GET', '/plans/pro', token)).body.rpm).toBe(777);
    await expectAccessible('plans');
  });

  it('lists services and verifies the audit chain', async () => {
    await new Shell(page).go('Services');
    await page.getByRole('table', { name: 'Services' }).getByText('openai', { exact: true }).waitFor();
    await expectAccessible('services');
    await new Shell(page).go('Audit');
    await page.getByRole('table', { name: 'Audit entries' }).getByText('wallet.create').first().waitFor();
    await page.getByRole('button', { name: 'Verify chain' }).click();
    await page.getByText(/The chain is intact: \d+ rows checked/).waitFor();
    await expectAccessible('audit');
  });
});
