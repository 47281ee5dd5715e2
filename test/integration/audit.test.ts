import { Command } from 'commander';
import { startTestGateway, TestGateway } from '../helpers/gateway';
import { TEST_BACKEND } from '../helpers/backend';
import { createUserWithKey } from '../helpers/keys';
import { registerAuditCommands } from '../../scripts/commands/audit';
import type { WithDeps } from '../../scripts/cli';

describe(`/audit (${TEST_BACKEND})`, () => {
  let gw: TestGateway;
  let admin: Awaited<ReturnType<TestGateway['user']>>;

  beforeAll(async () => {
    gw = await startTestGateway();
    admin = await gw.user('admin');
  });
  afterAll(() => gw.close());

  async function cliAuditVerify(): Promise<{ out: string; exitCode: number | undefined }> {
    const out: string[] = [];
    const spy = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: any) => (out.push(String(chunk)), true));
    const previous = process.exitCode;
    process.exitCode = undefined;
    try {
      const program = new Command().exitOverride();
      registerAuditCommands(program, ((fn) => fn(gw.deps)) as WithDeps);
      await program.parseAsync(['node', 'keywallet', 'audit', 'verify']);
      return { out: out.join(''), exitCode: process.exitCode as number | undefined };
    } finally {
      spy.mockRestore();
      process.exitCode = previous;
    }
  }

  it('lists entries newest first with filters, for admins only', async () => {
    const { user, id } = await createUserWithKey(gw);
    await gw.request(`/users/${user.id}`, { method: 'PATCH', token: admin.token, body: { plan: 'pro' } });
    const all = await gw.request('/audit?limit=500', { token: admin.token });
    expect(all.status).toBe(200);
    const ids = all.body.data.map((r: any) => r.id);
    expect(ids).toEqual([...ids].sort((a: number, b: number) => b - a));
    expect(all.body.data[0]).toMatchObject({ action: 'user.update', actor: { type: 'user', id: admin.user.id }, target: { type: 'user', id: user.id } });
    const byTarget = await gw.request(`/audit?targetType=api_key&targetId=${id}`, { token: admin.token });
    expect(byTarget.body.data.map((r: any) => r.action)).toEqual(['api_key.create']);
    const byActor = await gw.request(`/audit?actorId=${admin.user.id}&action=user.update`, { token: admin.token });
    expect(byActor.body.data.every((r: any) => r.actor.id === admin.user.id && r.action === 'user.update')).toBe(true);
    const byPrefix = await gw.request('/audit?action=api_key.', { token: admin.token });
    expect(byPrefix.body.total).toBeGreaterThan(0);
    expect(byPrefix.body.data.every((r: any) => r.action.startsWith('api_key.'))).toBe(true);
    const future = await gw.request('/audit?from=2999-01-01', { token: admin.token });
    expect(future.body).toMatchObject({ data: [], total: 0 });
    const today = new Date().toISOString().slice(0, 10);
    expect((await gw.request(`/audit?from=${today}&to=${today}`, { token: admin.token })).body.total).toBe(all.body.total);
    const page = await gw.request('/audit?limit=1&offset=1', { token: admin.token });
    expect(page.body.data[0].id).toBe(ids[1]);
    const dev = await gw.user('developer');
    expect((await gw.request('/audit', { token: dev.token })).status).toBe(403);
    expect((await gw.request('/audit/verify', { token: dev.token })).status).toBe(403);
  });

  it('verifies an intact chain over HTTP and from the CLI', async () => {
    const res = await gw.request('/audit/verify', { token: admin.token });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ ok: true, firstBrokenId: null, reason: null });
    expect(res.body.checked).toBeGreaterThan(3);
    const cli = await cliAuditVerify();
    expect(cli.out).toContain('intact');
    expect(cli.exitCode).toBeUndefined();
  });

  it('refuses updates, deletes and truncation of audit rows in the database itself', async () => {
    const row = await gw.deps.db('audit_log').orderBy('id').first();
    await expect(gw.deps.db('audit_log').where({ id: row.id }).update({ action: 'forged' })).rejects.toThrow(/append-only/);
    await expect(gw.deps.db('audit_log').where({ id: row.id }).del()).rejects.toThrow(/append-only/);
    await expect(gw.deps.db.raw('truncate audit_log')).rejects.toThrow(/append-only/);
    expect((await gw.deps.db('audit_log').where({ id: row.id }).first()).action).toBe(row.action);
  });

  // Last: it breaks the chain of this file's database on purpose.
  it('finds a row tampered with behind the trigger’s back', async () => {
    const rows = await gw.deps.db('audit_log').orderBy('id').select('id');
    const victim = rows[Math.floor(rows.length / 2)].id;
    await gw.deps.db.raw('alter table audit_log disable trigger audit_log_no_update');
    try {
      await gw.deps.db('audit_log').where({ id: victim }).update({ after: JSON.stringify({ role: 'admin' }) });
    } finally {
      await gw.deps.db.raw('alter table audit_log enable trigger audit_log_no_update');
    }
    const res = await gw.request('/audit/verify', { token: admin.token });
    expect(res.body).toMatchObject({ ok: false, firstBrokenId: Number(victim), reason: 'row content does not match its hash' });
    expect(res.body.checked).toBe(rows.findIndex((r) => r.id === victim));
    const cli = await cliAuditVerify();
    expect(cli.out).toContain(`BROKEN at row ${victim}`);
    expect(cli.exitCode).toBe(1);
    await expect(gw.deps.db('audit_log').where({ id: victim }).del()).rejects.toThrow(/append-only/);
  });
});
