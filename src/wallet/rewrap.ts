import type { Deps } from '../deps';
import { AuditActor, recordAudit } from '../audit/audit';
import { rowToEntry, WalletEntryRow } from './repository';
import { rewrapSigningSecrets } from '../webhooks/store';

export interface RewrapResult {
  /** the master-key version every entry is now sealed under */
  keyVersion: number;
  rewrapped: number;
  /** entries that could not be opened (their key version is unknown here, or the ciphertext is damaged) */
  failed: number;
  failedIds: string[];
  batches: number;
  /** webhook signing secrets (sealed with the same master keys) re-sealed too */
  webhooks: { rewrapped: number; failed: number; failedIds: string[] };
}

export interface RewrapOptions {
  batchSize?: number;
  actor?: AuditActor;
}

/**
 * Re-seals every entry whose key_version is not the current master-key version, in bounded batches: each batch
 * is one transaction (rows locked, `skip locked` so two runs never fight over a row) with one audit row of
 * counts. Idempotent: an interrupted run leaves committed batches done, and the next run picks up the rest.
 * Once it reports no failures, older versions can be removed from KEYWALLET_MASTER_KEYS.
 */
export async function rewrapWallet(deps: Pick<Deps, 'db' | 'wallet' | 'logger' | 'clock'>, opts: RewrapOptions = {}): Promise<RewrapResult> {
  const { db, wallet, logger } = deps;
  const sealer = wallet.sealer;
  const keyVersion = sealer.currentVersion;
  const batchSize = Math.max(1, Math.min(opts.batchSize ?? 100, 1000));
  const actor = opts.actor ?? { type: 'system' };
  const result: RewrapResult = { keyVersion, rewrapped: 0, failed: 0, failedIds: [], batches: 0, webhooks: { rewrapped: 0, failed: 0, failedIds: [] } };
  // Keyset pagination: a row that fails to open is not selected again in this run.
  let afterId: string | null = null;

  for (;;) {
    const now = new Date(deps.clock.now());
    const batch: { lastId: string; done: string[]; failed: string[] } | null = await db.transaction(async (trx) => {
      const query = trx('wallet_entries').whereNot('key_version', keyVersion).orderBy('id').limit(batchSize).forUpdate().skipLocked();
      if (afterId) query.where('id', '>', afterId);
      const rows = (await query) as WalletEntryRow[];
      if (rows.length === 0) return null;
      const done: string[] = [];
      const failed: string[] = [];
      for (const row of rows) {
        const entry = rowToEntry(row);
        let plaintext: string;
        try {
          plaintext = sealer.open(entry.sealed!);
        } catch (err) {
          logger.error({ entryId: row.id, keyVersion: row.key_version, reason: (err as { reason?: string }).reason }, 'rewrap: wallet entry could not be opened');
          failed.push(row.id);
          continue;
        }
        const sealed = sealer.seal(plaintext, { id: row.id, service: row.service });
        await trx('wallet_entries').where({ id: row.id }).update({
          ciphertext: sealed.ciphertext,
          nonce: sealed.nonce,
          key_version: sealed.keyVersion,
          fingerprint: sealer.fingerprint(plaintext),
        });
        done.push(row.id);
      }
      await recordAudit(
        trx,
        actor,
        { action: 'wallet.rewrap', targetType: 'wallet', targetId: null, after: { keyVersion, rewrapped: done.length, failed: failed.length } },
        now,
      );
      return { lastId: rows[rows.length - 1].id, done, failed };
    });
    if (!batch) break;
    result.batches++;
    result.rewrapped += batch.done.length;
    result.failed += batch.failed.length;
    result.failedIds.push(...batch.failed);
    afterId = batch.lastId;
    await wallet.announce(batch.done);
  }
  result.webhooks = await rewrapSigningSecrets(db, sealer, new Date(deps.clock.now()), (trx, counts) =>
    recordAudit(trx, actor, { action: 'webhook.rewrap', targetType: 'webhook', targetId: null, after: { keyVersion, ...counts } }, new Date(deps.clock.now())),
  );
  if (result.webhooks.failed) logger.error({ failedIds: result.webhooks.failedIds }, 'rewrap: webhook signing secrets could not be opened');
  return result;
}
