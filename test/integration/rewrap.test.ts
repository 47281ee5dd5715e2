import { Command } from 'commander';
import { startTestGateway, TestGateway } from '../helpers/gateway';
import { TEST_BACKEND } from '../helpers/backend';
import { fakeSecret } from '../helpers/fake-secrets';
import { findLeaks, recordResponses, tableText } from '../helpers/secret-scan';
import { GatewayNode, startSecondNode } from '../helpers/second-node';
import { generateMasterKey } from '../../src/wallet/crypto';
import { rewrapWallet } from '../../src/wallet/rewrap';
import { WalletEntryUnusable } from '../../src/wallet/opener';
import { registerWalletCommands } from '../../scripts/commands/wallet';
import { openSigningSecret } from '../../src/webhooks/store';

describe(`wallet rewrap across master-key versions (${TEST_BACKEND})`, () => {
  let gw: TestGateway;
  let v2Node: GatewayNode;
  let onlyV2: GatewayNode;
  let admin: string;
  const responses: string[][] = [];
  const secrets = new Map<string, string>(); // entry id → secret
  const v1 = () => gw.config.masterKeys.split(':')[1];
  const newKey = generateMasterKey();

  const addEntries = async (node: GatewayNode, n: number) => {
    for (let i = 0; i < n; i++) {
      const s = i % 2 ? fakeSecret.anthropic() : fakeSecret.stripeLive();
      const res = await node.request('/wallet/keys', { method: 'POST', token: admin, body: { secret: s, label: `entry ${secrets.size}` } });
      expect(res.status).toBe(201);
      secrets.set(res.body.id, s);
    }
  };
  const versions = async () => (await gw.deps.db('wallet_entries').pluck('key_version')).sort();

  beforeAll(async () => {
    gw = await startTestGateway();
    responses.push(recordResponses(gw));
    admin = (await gw.user('admin')).token;
    v2Node = await startSecondNode(gw, { KEYWALLET_MASTER_KEYS: `2:${newKey},1:${v1()}` });
    responses.push(recordResponses(v2Node));
  }, 120_000); // PGlite boots slowly on a busy machine
  afterAll(async () => {
    await onlyV2?.close();
    await v2Node.close();
    await gw.close();
  });

  let webhookSecret: string;
  let webhookId: string;

  it('re-seals every version-1 entry under version 2 in bounded batches, one audit row of counts per batch', async () => {
    await addEntries(gw, 7);
    const hook = await gw.request('/webhooks', { method: 'POST', token: admin, body: { url: 'https://93.184.216.34/hook', enabled: false } });
    expect(hook.status).toBe(201);
    [webhookId, webhookSecret] = [hook.body.id, hook.body.secret];
    expect(await versions()).toEqual([1, 1, 1, 1, 1, 1, 1]);
    const before = await gw.deps.db('wallet_entries').select('id', 'ciphertext', 'fingerprint');

    const result = await rewrapWallet(v2Node.deps, { batchSize: 3 });
    expect(result).toEqual({ keyVersion: 2, rewrapped: 7, failed: 0, failedIds: [], batches: 3, webhooks: { rewrapped: 1, failed: 0, failedIds: [] } });
    expect(await versions()).toEqual([2, 2, 2, 2, 2, 2, 2]);
    expect(await gw.deps.db('webhooks').where({ id: webhookId }).pluck('secret_key_version')).toEqual([2]);
    const after = await gw.deps.db('wallet_entries').select('id', 'ciphertext', 'fingerprint');
    for (const row of after) {
      const old = before.find((b) => b.id === row.id)!;
      expect(Buffer.from(row.ciphertext).equals(Buffer.from(old.ciphertext))).toBe(false);
      expect(row.fingerprint).not.toBe(old.fingerprint);
    }
    const audits = await gw.deps.db('audit_log').where({ action: 'wallet.rewrap' }).orderBy('id');
    expect(audits.map((a) => a.after)).toEqual([
      { keyVersion: 2, rewrapped: 3, failed: 0 },
      { keyVersion: 2, rewrapped: 3, failed: 0 },
      { keyVersion: 2, rewrapped: 1, failed: 0 },
    ]);
    expect(audits.every((a) => a.target_type === 'wallet' && a.before === null)).toBe(true);
  });

  it('is idempotent: a second run finds nothing to do', async () => {
    expect(await rewrapWallet(v2Node.deps, { batchSize: 3 })).toEqual({ keyVersion: 2, rewrapped: 0, failed: 0, failedIds: [], batches: 0, webhooks: { rewrapped: 0, failed: 0, failedIds: [] } });
  });

  it('picks up where an interrupted run stopped', async () => {
    await addEntries(gw, 5); // sealed under version 1 by the old node
    const announce = jest.spyOn(v2Node.deps.wallet, 'announce').mockRejectedValueOnce(new Error('interrupted'));
    await expect(rewrapWallet(v2Node.deps, { batchSize: 2 })).rejects.toThrow('interrupted');
    announce.mockRestore();
    expect((await versions()).filter((v) => v === 1)).toHaveLength(3); // the first batch committed

    const out: string[] = [];
    const write = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      out.push(String(chunk));
      return true;
    });
    try {
      const program = new Command('keywallet').exitOverride();
      registerWalletCommands(program, (fn) => fn(v2Node.deps));
      await program.parseAsync(['node', 'keywallet', 'wallet', 'rewrap', '--batch-size', '2']);
    } finally {
      write.mockRestore();
    }
    expect(out.join('')).toBe('key version 2: 3 rewrapped in 2 batch(es), 0 failed; webhook secrets: 0 rewrapped, 0 failed\n');
    expect(new Set(await versions())).toEqual(new Set([2]));
  });

  it('after rewrap, a node with only the new master key opens every secret and still spots duplicates', async () => {
    onlyV2 = await startSecondNode(gw, { KEYWALLET_MASTER_KEYS: `2:${newKey}` });
    responses.push(recordResponses(onlyV2));
    const entries = await onlyV2.deps.wallet.list();
    expect(entries).toHaveLength(12);
    for (const entry of entries) expect(await onlyV2.deps.wallet.openSecret(entry)).toBe(secrets.get(entry.id));
    const hook = await gw.deps.db('webhooks').where({ id: webhookId }).first();
    expect(openSigningSecret(onlyV2.deps.wallet.sealer, hook)).toBe(webhookSecret);
    const [someId, someSecret] = [...secrets.entries()][4];
    const dup = await onlyV2.request('/wallet/keys', { method: 'POST', token: admin, body: { secret: someSecret, label: 'dup' } });
    expect(dup.status).toBe(409);
    expect(dup.body.error.details).toEqual({ id: someId });
    expect((await onlyV2.deps.wallet.list({ status: 'invalid' })).length).toBe(0);
  });

  it('reports an entry whose version is unknown as failed, and a node without that version cannot open it', async () => {
    const stale = fakeSecret.openaiProject();
    const res = await gw.request('/wallet/keys', { method: 'POST', token: admin, body: { secret: stale, label: 'sealed with v1 after the rewrap' } });
    secrets.set(res.body.id, stale);
    const result = await rewrapWallet(onlyV2.deps);
    expect(result).toMatchObject({ rewrapped: 0, failed: 1, failedIds: [res.body.id] });
    const failure = await onlyV2.deps.wallet.openSecret((await onlyV2.deps.wallet.get(res.body.id)).entry).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(WalletEntryUnusable);
    expect((await gw.request(`/wallet/keys/${res.body.id}`, { token: admin })).body).toMatchObject({ status: 'invalid', statusReason: 'decrypt_failed' });
  });

  it('never shows a secret in a response, a log line, an audit row or the table', async () => {
    const sources = {
      responses: responses.flat().join('\n'),
      logs: [...gw.logs, ...v2Node.logs, ...onlyV2.logs].join(''),
      audit_log: await tableText(gw.deps.db, 'audit_log'),
      wallet_entries: await tableText(gw.deps.db, 'wallet_entries'),
      webhooks: await tableText(gw.deps.db, 'webhooks'),
    };
    expect(sources.logs).toMatch(/rewrap: wallet entry could not be opened/);
    expect(findLeaks([...secrets.values()], sources)).toEqual([]);
    // the webhook's signing secret: in the one answer that created it, nowhere else
    const { responses: all, ...rest } = sources;
    expect(all.split(webhookSecret).length).toBe(2);
    expect(findLeaks([webhookSecret], rest)).toEqual([]);
  });
});
