import type { Page } from 'playwright-core';

/**
 * Page objects for the console: they find things the way a person does — by role, label and visible text —
 * so a test reads as the steps a user takes.
 */
export class LoginPage {
  constructor(readonly page: Page) {}

  async open(next?: string) {
    await this.page.goto(`/console/login${next ? `?next=${encodeURIComponent(next)}` : ''}`);
  }

  async signIn(email: string, password: string) {
    await this.page.getByLabel('Email').fill(email);
    await this.page.getByLabel('Password', { exact: true }).fill(password);
    await this.page.getByRole('button', { name: 'Sign in' }).click();
  }

  heading() {
    return this.page.getByRole('heading', { name: 'Sign in to Keywallet' });
  }
}

export class ChangePasswordPage {
  constructor(readonly page: Page) {}

  heading() {
    return this.page.getByRole('heading', { name: /password/i, level: 1 });
  }

  async change(current: string, next: string) {
    await this.page.getByLabel('Current password').fill(current);
    await this.page.getByLabel('New password', { exact: true }).fill(next);
    await this.page.getByLabel('Repeat the new password').fill(next);
    await this.page.getByRole('button', { name: 'Change password' }).click();
  }
}

export class Shell {
  constructor(readonly page: Page) {}

  nav() {
    return this.page.getByRole('navigation', { name: 'Console' });
  }

  async navLinks(): Promise<string[]> {
    return (await this.nav().getByRole('link').allInnerTexts()).map((t) => t.trim());
  }

  async go(label: string) {
    await this.nav().getByRole('link', { name: label, exact: true }).click();
    await this.page.getByRole('heading', { level: 1 }).waitFor();
  }

  title() {
    return this.page.getByRole('heading', { level: 1 });
  }

  async logout() {
    await this.page.getByRole('button', { name: 'Log out' }).click();
  }
}

export class WalletPage {
  constructor(readonly page: Page) {}

  async addKey(opts: { secret: string; label: string }) {
    await this.page.getByRole('button', { name: 'Add a key' }).click();
    const form = this.page.getByRole('form', { name: 'Add a provider key' });
    await form.getByLabel('Secret').fill(opts.secret);
    await form.getByLabel('Label').fill(opts.label);
    return form;
  }

  row(label: string) {
    return this.page.getByRole('table', { name: 'Provider keys' }).getByRole('row').filter({ hasText: label });
  }
}

export class UsersPage {
  constructor(readonly page: Page) {}

  async create(email: string, password: string, role: string) {
    await this.page.getByRole('button', { name: 'Create a user' }).click();
    const form = this.page.getByRole('form', { name: 'Create a user' });
    await form.getByLabel('Email').fill(email);
    await form.getByLabel('Initial password').fill(password);
    await form.getByLabel('Role').selectOption(role);
    await form.getByRole('button', { name: 'Create user' }).click();
    await this.page.getByRole('table', { name: 'Users' }).getByRole('cell', { name: email, exact: true }).waitFor();
  }
}

export class KeysPage {
  constructor(readonly page: Page) {}

  /** Creates a key through the form and returns the secret shown once. */
  async create(name: string, owner?: string): Promise<string> {
    await this.page.getByRole('button', { name: 'Create a key' }).click();
    const form = this.page.getByRole('form', { name: 'Create a gateway key' });
    await form.getByLabel('Name').fill(name);
    if (owner) await form.getByLabel('Owner').selectOption({ label: owner });
    await form.getByRole('button', { name: 'Create key' }).click();
    const secret = this.page.getByLabel('New gateway key');
    await secret.waitFor();
    return (await secret.innerText()).trim();
  }

  row(name: string) {
    return this.page.getByRole('table', { name: 'Gateway keys' }).getByRole('row').filter({ hasText: name });
  }

  async revoke(name: string, reason: string) {
    await this.row(name).getByRole('button', { name: `Revoke ${name}` }).click();
    const form = this.page.getByRole('form', { name: `Revoke ${name}` });
    await form.getByLabel('Reason').fill(reason);
    await form.getByRole('button', { name: 'Revoke for good' }).click();
  }
}
