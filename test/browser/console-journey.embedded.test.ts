import type { Browser, BrowserContext, Page } from 'playwright-core';
import { startOpenAIMock, type MockUpstream } from '../mocks';
import { fakeSecret } from '../helpers/fake-secrets';
import { collectConsoleErrors, launchBrowser, newUserContext, screenshot, seriousA11yViolations } from './support/browser';
import { startConsoleGateway, type ConsoleGateway } from './support/gateway';
import { ChangePasswordPage, KeysPage, LoginPage, Shell, UsersPage, WalletPage } from './pages/console';

jest.setTimeout(180_000);

const ADMIN = 'admin@localhost';
const ADMIN_PASSWORD = 'the admin chose this one';
const DEV = 'dev@example.test';
const DEV_PASSWORD = 'developer password 1';
const ANALYST = 'analyst@example.test';
const ANALYST_PASSWORD = 'analyst password 12';

/**
 * The console end to end, as people use it, in real Chromium against a real gateway process on the embedded
 * default: first-run admin, wallet, users, keys, a developer calling /v1 with the key they copied, a revocation.
 * The steps build on each other (one gateway and one browser for the file).
 */
describe('console journey (embedded, Chromium)', () => {
  let gw: ConsoleGateway;
  let mock: MockUpstream;
  let browser: Browser;
  const contexts: BrowserContext[] = [];
  let admin: Page;
  let adminErrors: string[];
  let devKey = '';

  const chat = (key: string) =>
    fetch(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'openai/gpt-4o-mini', messages: [{ role: 'user', content: 'hello' }] }),
    });

  async function signedInPage(email: string, password: string): Promise<Page> {
    const context = await newUserContext(browser, gw.url);
    contexts.push(context);
    const page = await context.newPage();
    const login = new LoginPage(page);
    await login.open();
    await login.signIn(email, password);
    await new Shell(page).nav().waitFor();
    return page;
  }

  async function expectAccessible(page: Page, name: string) {
    await screenshot(page, name);
    expect([name, await seriousA11yViolations(page)]).toEqual([name, []]);
  }

  beforeAll(async () => {
    [mock, gw, browser] = await Promise.all([startOpenAIMock(), startConsoleGateway(), launchBrowser()]);
  });
  afterAll(async () => {
    for (const c of contexts) await c.close().catch(() => {});
    await browser?.close();
    await gw?.close();
    await mock?.close();
  });

  it('first run: the admin signs in with the printed password and must choose their own first', async () => {
    expect(gw.printedPassword).toBeTruthy();
    const context = await newUserContext(browser, gw.url);
    contexts.push(context);
    admin = await context.newPage();
    adminErrors = collectConsoleErrors(admin);
    await admin.goto('/');
    const login = new LoginPage(admin);
    await login.heading().waitFor();
    await expectAccessible(admin, 'login');
    await login.signIn(ADMIN, 'not the password');
    await admin.getByRole('alert').filter({ hasText: 'Invalid email or password' }).waitFor();
    await login.signIn(ADMIN, gw.printedPassword!);
    const change = new ChangePasswordPage(admin);
    await admin.getByRole('heading', { name: 'Choose your own password' }).waitFor();
    await expectAccessible(admin, 'change-password');
    // the API refuses everything else meanwhile, whatever the page shows
    const refused = await admin.request.get('/users');
    expect(refused.status()).toBe(403);
    expect((await refused.json()).error.code).toBe('password_change_required');
    await change.change(gw.printedPassword!, ADMIN_PASSWORD);
    await new Shell(admin).nav().waitFor();
    expect(await new Shell(admin).navLinks()).toEqual(expect.arrayContaining(['Wallet', 'Keys', 'Users', 'System']));
    await expectAccessible(admin, 'admin-home');
  });

  it('as admin, adds a wallet entry (service detected as pasted) and is told in words when it is a duplicate', async () => {
    const token = await gw.login(ADMIN, ADMIN_PASSWORD);
    const pointed = await gw.api('PATCH', '/services/openai', token, { baseUrl: mock.url, allowPrivate: true });
    expect(pointed.status).toBe(200);
    const shell = new Shell(admin);
    await shell.go('Wallet');
    const wallet = new WalletPage(admin);
    const secret = fakeSecret.openaiProject();
    const form = await wallet.addKey({ secret, label: 'team openai' });
    await form.getByText('Looks like a openai key.').waitFor();
    await form.getByRole('button', { name: 'Add key' }).click();
    await wallet.row('team openai').getByText('active').waitFor();
    expect(await wallet.row('team openai').innerText()).toContain(`…${secret.slice(-4)}`);
    expect(await admin.content()).not.toContain(secret);
    const again = await wallet.addKey({ secret, label: 'the same key again' });
    await again.getByRole('button', { name: 'Add key' }).click();
    await admin.getByText('This key is already in the wallet').waitFor();
    await expectAccessible(admin, 'wallet');
  });

  it('as admin, creates a developer and an analyst, and a key for the developer', async () => {
    const shell = new Shell(admin);
    await shell.go('Users');
    const users = new UsersPage(admin);
    await users.create(DEV, DEV_PASSWORD, 'developer');
    await users.create(ANALYST, ANALYST_PASSWORD, 'analyst');
    await expectAccessible(admin, 'users');
    await shell.go('Keys');
    const keys = new KeysPage(admin);
    const issued = await keys.create('issued by the admin', `${DEV} (developer)`);
    expect(issued).toMatch(/^kw_live_/);
    await admin.getByText('this is the only time the gateway shows it', { exact: false }).waitFor();
    await expectAccessible(admin, 'keys-secret-once');
    await admin.getByRole('button', { name: 'I have stored it' }).click();
    expect(await admin.getByLabel('New gateway key').count()).toBe(0);
    expect(await keys.row('issued by the admin').innerText()).toContain(DEV);
  });

  it('as the developer, copies a new key and calls /v1 with it', async () => {
    const dev = await signedInPage(DEV, DEV_PASSWORD);
    const shell = new Shell(dev);
    expect(await shell.navLinks()).not.toEqual(expect.arrayContaining(['Wallet']));
    await shell.go('Keys');
    const keys = new KeysPage(dev);
    await keys.row('issued by the admin').waitFor();
    const shown = await keys.create('my laptop');
    await dev.getByRole('button', { name: 'Copy key' }).click();
    await dev.getByText('Copied to the clipboard').waitFor();
    devKey = await dev.evaluate(() => (globalThis as unknown as { navigator: { clipboard: { readText(): Promise<string> } } }).navigator.clipboard.readText());
    expect(devKey).toBe(shown);
    const res = await chat(devKey);
    expect(res.status).toBe(200);
    expect(((await res.json()) as { choices: { message: { content: string } }[] }).choices[0].message.content).toEqual(expect.any(String));
    // the key's own usage panel, over the shared time range (the count depends on the usage flush: not asserted)
    await dev.getByRole('button', { name: 'Usage of my laptop' }).click();
    await dev.getByRole('region', { name: 'Usage of my laptop' }).getByText(/\d+ requests? \(\d+ errors\)/).waitFor();
    await expectAccessible(dev, 'key-usage');
    await dev.getByRole('link', { name: 'Use it: quickstart snippets' }).click();
    await dev.getByRole('heading', { name: 'Quickstart', level: 1 }).waitFor();
    expect(await dev.getByLabel('curl snippet').innerText()).toContain(`${gw.url}/v1/chat/completions`);
    expect(await dev.getByLabel('curl snippet').innerText()).toContain(devKey);
    await expectAccessible(dev, 'quickstart');
  });

  it('as admin, revokes the developer’s key, and the next call is refused', async () => {
    await admin.reload();
    const keys = new KeysPage(admin);
    await keys.row('my laptop').waitFor();
    await keys.revoke('my laptop', 'laptop lost');
    await keys.row('my laptop').getByText('revoked').waitFor();
    const res = await chat(devKey);
    expect(res.status).toBe(401);
  });

  it('a developer cannot reach admin pages, in the UI or the API', async () => {
    const dev = await signedInPage(DEV, DEV_PASSWORD);
    for (const path of ['/console/users', '/console/wallet', '/console/system']) {
      await dev.goto(path);
      await dev.getByRole('heading', { name: 'Not available to your role' }).waitFor();
    }
    await expectAccessible(dev, 'developer-forbidden');
    for (const path of ['/users', '/wallet/keys', '/audit']) expect([path, (await dev.request.get(path)).status()]).toEqual([path, 403]);
  });

  it('the analyst signs in and sees only what analysts may use', async () => {
    const analyst = await signedInPage(ANALYST, ANALYST_PASSWORD);
    const links = await new Shell(analyst).navLinks();
    expect(links).not.toEqual(expect.arrayContaining(['Wallet']));
    expect(links).not.toEqual(expect.arrayContaining(['Keys']));
    await expectAccessible(analyst, 'analyst-home');
  });

  it('logging out ends the session; signing in again returns to the page asked for', async () => {
    await new Shell(admin).logout();
    await new LoginPage(admin).heading().waitFor();
    expect((await admin.request.get('/api-keys')).status()).toBe(401);
    await admin.goto('/console/users?q=dev');
    await new LoginPage(admin).heading().waitFor();
    expect(admin.url()).toContain(`next=${encodeURIComponent('/users?q=dev')}`);
    await new LoginPage(admin).signIn(ADMIN, ADMIN_PASSWORD);
    await admin.getByRole('heading', { name: 'Users', level: 1 }).waitFor();
    expect(new URL(admin.url()).pathname).toBe('/console/users');
  });

  it('visits every page without a serious accessibility problem or a CSP violation', async () => {
    const shell = new Shell(admin);
    for (const label of await shell.navLinks()) {
      await shell.go(label);
      await admin.waitForLoadState('networkidle');
      await expectAccessible(admin, `page-${label.toLowerCase().replace(/\W+/g, '-')}`);
    }
    expect(adminErrors.filter((e) => /Content Security Policy|Refused to/.test(e))).toEqual([]);
  });
});
