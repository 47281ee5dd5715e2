import type { Browser } from 'playwright-core';
import { launchBrowser, newUserContext, screenshot } from './support/browser';
import { startConsoleGateway, type ConsoleGateway } from './support/gateway';
import { LoginPage, Shell } from './pages/console';

jest.setTimeout(180_000);

const ADMIN = 'expiry@example.test';
const PASSWORD = 'expiry admin password';
const IDLE_SECONDS = 3;

/** A session that lapses sends the user to the login page, and back to the page they were on afterwards. */
describe('console session expiry (embedded, Chromium)', () => {
  let gw: ConsoleGateway;
  let browser: Browser;

  beforeAll(async () => {
    [gw, browser] = await Promise.all([
      startConsoleGateway({ KEYWALLET_ADMIN_EMAIL: ADMIN, KEYWALLET_ADMIN_PASSWORD: PASSWORD, CONSOLE_SESSION_IDLE_SECONDS: String(IDLE_SECONDS) }),
      launchBrowser(),
    ]);
  });
  afterAll(async () => {
    await browser?.close();
    await gw?.close();
  });

  it('returns to the login page when the session has lapsed, without losing the page', async () => {
    const context = await newUserContext(browser, gw.url);
    const page = await context.newPage();
    await new LoginPage(page).open();
    await new LoginPage(page).signIn(ADMIN, PASSWORD);
    const shell = new Shell(page);
    await shell.go('Users');
    await page.getByRole('table', { name: 'Users' }).waitFor();
    // let the session go idle past CONSOLE_SESSION_IDLE_SECONDS, then use the page
    await page.waitForTimeout((IDLE_SECONDS + 1) * 1000);
    await page.getByLabel('Email contains').fill('expiry');
    await page.getByText('Your session has ended.').waitFor();
    await screenshot(page, 'session-expired');
    const url = new URL(page.url());
    expect(url.pathname).toBe('/console/login');
    expect(url.searchParams.get('next')).toBe('/users');
    expect((await page.request.get('/api-keys')).status()).toBe(401);
    await new LoginPage(page).signIn(ADMIN, PASSWORD);
    await page.getByRole('heading', { name: 'Users', level: 1 }).waitFor();
    expect(new URL(page.url()).pathname).toBe('/console/users');
    await context.close();
  });
});
