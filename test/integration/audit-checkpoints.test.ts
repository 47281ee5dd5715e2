import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Command } from 'commander';
import { startTestGateway, TestGateway } from '../helpers/gateway';
import { TEST_BACKEND } from '../helpers/backend';
import { registerAuditCommands } from '../../scripts/commands/audit';
import type { WithDeps } from '../../scripts/cli';
import { rowHash, sealUnkeyedAuditRows } from '../../src/audit/audit';

/**
 * Issue 14.10: the audit chain was unkeyed (anyone with database write access could rewrite a row and re-hash
 * everything after it) and dropping the newest rows went unnoticed. Rows are now keyed with a key derived from the
 * master key, and signed checkpoints (count + head hash) expose a chain cut short.
 */
describe(`14.10 keyed audit chain with checkpoints (${TEST_BACKEND})`, () => {
  let gw: TestGateway;
  let admin: Awaited<ReturnType<TestGateway['user']>>;

  beforeAll(async () => {
    gw = await startTestGateway();
    admin = await gw.user('admin');
    for (let i = 0; i < 4; i++) await gw.user('developer');
  });
  afterAll(() => gw.close());

  async function cliVerify(args: string[] = []): Promise<{ out: string; exitCode: number | undefined }> {
    const out: string[] = [];
    const spy = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: any) => (out.push(String(chunk)), true));
    const previous = process.exitCode;
    process.exitCode = undefined;
    try {
      const program = new Command().exitOverride();
      registerAuditCommands(program, ((fn) => fn(gw.deps)) as WithDeps);
      await program.parseAsync(['node', 'keywallet', 'audit', 'verify', ...args]);
      return { out: out.join(''), exitCode: process.exitCode as number | undefined };
    } finally {
      spy.mockRestore();
      process.exitCode = previous;
    }
  }

  /** What an attacker with write access (but not the master key) can do: change rows behind the trigger's back. */
  async function behindTheTrigger(fn: () => Promise<unknown>): Promise<void> {
    await gw.deps.db.raw('alter table audit_log disable trigger audit_log_no_update');
    try {
      await fn();
    } finally {
      await gw.deps.db.raw('alter table audit_log enable trigger audit_log_no_update');
    }
  }

  it('publishes signed checkpoints: GET /audit/head, a log line and the row-count gauge', async () => {
    const head = await gw.request('/audit/head', { token: admin.token });
    expect(head.status).toBe(200);
    const [{ n }] = await gw.deps.db('audit_log').count({ n: '*' });
    const newest = await gw.deps.db('audit_log').orderBy('id', 'desc').first();
    expect(head.body).toMatchObject({ count: Number(n), headHash: newest.hash, keyVersion: 1 });
    expect(head.body.signature).toMatch(/^[0-9a-f]{64}$/);
    expect(Date.parse(head.body.at)).not.toBeNaN();
    expect(gw.logs.join('')).toContain(`"headHash":"${newest.hash}"`);
    expect((await gw.request('/metrics')).text).toMatch(new RegExp(`^keywallet_audit_rows ${Number(n)}$`, 'm'));
    const dev = await gw.user('developer');
    expect((await gw.request('/audit/head', { token: dev.token })).status).toBe(403);
  });

  it('detects the newest rows dropped, against a checkpoint given as flags, a file or query parameters', async () => {
    const checkpoint = (await gw.request('/audit/head', { token: admin.token })).body;
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'kwaudit-')), 'checkpoint.json');
    fs.writeFileSync(file, JSON.stringify(checkpoint));
    const flags = ['--expect-count', String(checkpoint.count), '--expect-head', checkpoint.headHash];
    expect((await cliVerify(flags)).exitCode).toBeUndefined();
    expect((await cliVerify(['--checkpoint', file])).out).toContain(`consistent with the checkpoint of ${checkpoint.count} rows`);

    await gw.user('developer'); // the chain grows past the checkpoint: still consistent with it
    expect((await cliVerify(flags)).exitCode).toBeUndefined();
    const newestIds = (await gw.deps.db('audit_log').orderBy('id', 'desc').limit(3).select('id')).map((r) => r.id);
    await behindTheTrigger(() => gw.deps.db('audit_log').whereIn('id', newestIds).del());

    expect((await gw.request('/audit/verify', { token: admin.token })).body.ok).toBe(true); // the chain alone cannot tell
    const cut = await cliVerify(flags);
    expect(cut.exitCode).toBe(1);
    expect(cut.out).toContain(`truncated: the checkpoint counted ${checkpoint.count} rows, the chain holds ${checkpoint.count - 2}`);
    expect((await cliVerify(['--checkpoint', file])).exitCode).toBe(1);
    const http = await gw.request(`/audit/verify?expectCount=${checkpoint.count}&expectHead=${checkpoint.headHash}`, { token: admin.token });
    expect(http.body).toMatchObject({ ok: false, reason: expect.stringContaining('truncated') });

    // a forged checkpoint file (fitted to the cut chain) is not signed by the master key
    const forged = { ...checkpoint, count: checkpoint.count - 2 };
    fs.writeFileSync(file, JSON.stringify(forged));
    const refused = await cliVerify(['--checkpoint', file]);
    expect(refused.exitCode).toBe(1);
    expect(refused.out).toContain('NOT signed');
  });

  // Last: it rewrites this file's chain on purpose.
  it('a row rewritten and the whole chain re-hashed without the master key does not verify', async () => {
    const rows = await gw.deps.db('audit_log').orderBy('id');
    const victim = rows[1];
    await behindTheTrigger(async () => {
      // re-chain every row the way the old, unkeyed scheme did: valid sha256 links from the genesis on
      let prev = '0'.repeat(64);
      for (const r of rows) {
        const content = r.id === victim.id ? { ...r, after: { role: 'admin', forged: true } } : r;
        const hash = rowHash(prev, content);
        await gw.deps.db('audit_log')
          .where({ id: r.id })
          .update({ after: content.after === null ? null : JSON.stringify(content.after), prev_hash: prev, hash });
        prev = hash;
      }
    });
    const res = await gw.request('/audit/verify', { token: admin.token });
    expect(res.body).toMatchObject({ ok: false, firstBrokenId: Number(rows[0].id), reason: 'row content does not match its hash' });
    // passing the rows off as written before the chain was keyed does not help either: nothing seals them
    await behindTheTrigger(() => gw.deps.db('audit_log').update({ key_version: null }));
    const downgraded = await gw.request('/audit/verify', { token: admin.token });
    expect(downgraded.body).toMatchObject({ ok: false, reason: `${rows.length} unkeyed rows and no keyed row sealing them` });
    const cli = await cliVerify();
    expect(cli.exitCode).toBe(1);
    expect(cli.out).toContain('BROKEN');
  });

  it('rows written before the chain was keyed are sealed at boot and protected from then on', async () => {
    const fresh = await startTestGateway();
    try {
      await fresh.user('developer');
      // turn this database's chain into what an older gateway wrote: unkeyed SHA-256 rows, key_version null
      const rows = await fresh.deps.db('audit_log').orderBy('id');
      const rechain = async (forge?: (r: any) => any) => {
        await fresh.deps.db.raw('alter table audit_log disable trigger audit_log_no_update');
        let prev = '0'.repeat(64);
        for (const r of rows) {
          const content = forge ? forge(r) : r;
          const hash = rowHash(prev, content);
          await fresh.deps.db('audit_log').where({ id: r.id }).update({ target_id: content.target_id, prev_hash: prev, hash, key_version: null });
          prev = hash;
        }
        await fresh.deps.db.raw('alter table audit_log enable trigger audit_log_no_update');
        return prev;
      };
      const head = await rechain();
      expect(await sealUnkeyedAuditRows(fresh.deps.db)).toEqual({ sealed: rows.length }); // what boot does after migrating
      expect(await sealUnkeyedAuditRows(fresh.deps.db)).toBeNull(); // once
      const seal = await fresh.deps.db('audit_log').where({ action: 'audit.chain_keyed' }).first();
      expect(seal).toMatchObject({ key_version: 1, prev_hash: head });
      expect(seal.after).toEqual({ unkeyedRows: rows.length, unkeyedHead: head });
      const adminToken = (await fresh.user('admin')).token;
      const ok = (await fresh.request('/audit/verify', { token: adminToken })).body;
      expect(ok).toMatchObject({ ok: true });
      expect(ok.checked).toBeGreaterThan(rows.length);
      // re-hashing an old row (the old scheme needs no key) breaks the seal's link
      await rechain((r) => (r.id === rows[0].id ? { ...r, target_id: 'forged' } : r));
      const broken = (await fresh.request('/audit/verify', { token: adminToken })).body;
      expect(broken).toMatchObject({ ok: false, firstBrokenId: Number(seal.id) });
    } finally {
      await fresh.close();
    }
  });
});
