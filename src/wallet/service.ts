import crypto from 'node:crypto';
import type { Knex } from 'knex';
import type { Deps } from '../deps';
import { AuditActor, recordAudit } from '../audit/audit';
import { AppError, badRequest, conflict, notFound } from '../http/errors';
import { quotaCounter, quotaPeriod } from '../routing/quota';
import { assertServiceUsable } from '../services/admin';
import { isUniqueViolation } from '../store/db';
import { isDatabaseUnavailable, MAX_STALE_ON_DB_ERROR_MS } from '../store/db-unavailable';
import { createSealer, maskSecret, parseMasterKeys, SealedRow, Sealer } from './crypto';
import { defaultEnvironment } from './detect';
import { SecretOpener, WalletEntryUnusable } from './opener';
import { presentEntry, QuotaUsage, quotaFromApi } from './presenter';
import {
  EntryChanges,
  EntryFilter,
  Environment,
  findByFingerprints,
  findEntry,
  insertEntry,
  listEntries,
  updateEntry,
  WalletEntry,
} from './repository';
import type { CreateEntryInput, ReactivateInput, UpdateEntryInput } from './schemas';
import type { WalletEventObserver } from '../alerts/wallet-events';

export const WALLET_CHANNEL = 'wallet:changed';

/** A team pool must name a team that exists (a 400 naming the field, not a foreign-key 500). */
async function assertTeamExists(trx: Knex, teamId: string | null): Promise<void> {
  if (teamId && !(await trx('teams').where({ id: teamId }).first('id'))) {
    throw badRequest('Unknown team', { param: 'teamId', details: [{ path: 'body.teamId', message: 'no such team' }] });
  }
}
const SYSTEM: AuditActor = { type: 'system' };
const MAX_STALENESS_MS = 30_000;

export type WalletServiceDeps = Pick<Deps, 'db' | 'kv' | 'logger' | 'clock' | 'metrics' | 'config' | 'services'> & {
  /** told when an entry turns invalid (the alert service) */
  walletEvents?: WalletEventObserver;
};

/**
 * The wallet: provider secrets sealed at rest, every mutation audited in its own transaction (presented
 * before/after, never the secret, fingerprint or ciphertext) and announced on 'wallet:changed' (the entry id).
 * HTTP routes, the CLI and the router all go through this one class.
 */
export class WalletService {
  readonly sealer: Sealer;
  private readonly opener: SecretOpener;
  private readonly activeCache = new Map<string, { at: number; entries: Promise<WalletEntry[]> }>();
  private readonly lastActive = new Map<string, { at: number; list: WalletEntry[] }>();

  constructor(private readonly deps: WalletServiceDeps, sealer?: Sealer) {
    this.sealer = sealer ?? createSealer(parseMasterKeys(deps.config.masterKeys));
    this.opener = new SecretOpener(this.sealer);
  }

  static async start(deps: WalletServiceDeps): Promise<WalletService> {
    const wallet = new WalletService(deps);
    await deps.kv.subscribe(WALLET_CHANNEL, (id) => wallet.forget(id));
    return wallet;
  }

  async create(input: CreateEntryInput, actor: AuditActor): Promise<WalletEntry> {
    const { secret } = input;
    const slug = input.service ?? this.deps.services.detectOrThrow(secret);
    assertServiceUsable(await this.deps.services.getOrReload(slug), slug);
    await this.assertNotDuplicate(secret);
    const id = crypto.randomUUID(); // first: the ciphertext is bound to the row id
    const teamId = input.teamId ?? null;
    const sealed = this.sealer.seal(secret, { id, service: slug });
    const now = this.now();
    const entry = await this.inTransaction(async (trx) => {
      await assertTeamExists(trx, teamId);
      const created = await insertEntry(trx, {
        id,
        service: slug,
        label: input.label,
        tier: input.tier,
        priority: input.priority,
        weight: input.weight,
        environment: input.environment ?? defaultEnvironment(secret),
        status: 'active',
        status_reason: null,
        team_id: teamId,
        ciphertext: sealed.ciphertext,
        nonce: sealed.nonce,
        key_version: sealed.keyVersion,
        fingerprint: this.sealer.fingerprint(secret),
        secret_hint: maskSecret(secret),
        quota: input.quota ? quotaFromApi(input.quota) : null,
        metadata: input.metadata,
        created_by: actor.type === 'user' ? actor.id ?? null : null,
        created_at: now,
        updated_at: now,
      });
      await recordAudit(trx, actor, { action: 'wallet.create', targetType: 'wallet_entry', targetId: id, after: presentEntry(created) }, now);
      return created;
    });
    await this.changed(id);
    return entry;
  }

  list(filter: EntryFilter = {}): Promise<WalletEntry[]> {
    return listEntries(this.deps.db, filter);
  }

  /** The API's filter: the service's own fields, plus one team's pool or either pool as a whole. */
  listFiltered(filter: Omit<EntryFilter, 'team_id'> & { teamId?: string; pool?: 'shared' | 'team' }): Promise<WalletEntry[]> {
    const { teamId, pool, ...rest } = filter;
    return listEntries(this.deps.db, { ...rest, ...(teamId ? { team_id: teamId } : pool === 'shared' ? { team_id: null } : {}) }, pool === 'team');
  }

  async get(id: string): Promise<{ entry: WalletEntry; usage?: QuotaUsage }> {
    const entry = await findEntry(this.deps.db, id);
    if (!entry) throw notFound('Wallet entry');
    return { entry, usage: await this.quotaUsage(entry) };
  }

  /** How much of its quota the entry has used this period (undefined without a quota or when the store is down). */
  async quotaUsage(entry: WalletEntry): Promise<QuotaUsage | undefined> {
    if (!entry.quota) return undefined;
    const nowMs = this.deps.clock.now();
    try {
      const [used] = await this.deps.kv.peek([quotaCounter(entry.id, entry.quota, nowMs, 0)], nowMs);
      return { used, resetsAt: new Date(quotaPeriod(entry.quota.period, nowMs).end) };
    } catch (err) {
      this.deps.logger.warn({ err, entryId: entry.id }, 'could not read the quota counter of a wallet entry');
      return undefined;
    }
  }

  async update(id: string, patch: UpdateEntryInput, actor: AuditActor): Promise<WalletEntry> {
    const now = this.now();
    const changes: EntryChanges = { updated_at: now };
    for (const field of ['label', 'tier', 'priority', 'weight', 'environment', 'metadata'] as const) {
      if (patch[field] !== undefined) (changes as Record<string, unknown>)[field] = patch[field];
    }
    if (patch.quota !== undefined) changes.quota = patch.quota === null ? null : quotaFromApi(patch.quota);
    if (patch.teamId !== undefined) changes.team_id = patch.teamId;
    if (patch.status !== undefined) {
      // An admin re-activating an invalid entry says the key works again; the old reason no longer applies.
      Object.assign(changes, { status: patch.status, status_reason: null, invalid_at: null });
    }
    const entry = await this.mutateAlways(id, 'wallet.update', actor, now, async (trx) => {
      if (patch.teamId) await assertTeamExists(trx, patch.teamId);
      return updateEntry(trx, id, changes);
    });
    await this.changed(id);
    return entry;
  }

  async delete(id: string, actor: AuditActor): Promise<void> {
    const now = this.now();
    await this.mutateAlways(id, 'wallet.delete', actor, now, async (trx) => {
      await trx('wallet_entries').where({ id }).delete();
      return 'deleted' as const;
    });
    await this.changed(id);
  }

  /** New secret, same entry: re-sealed, new fingerprint; an entry that was invalid becomes active again. */
  async replaceSecret(id: string, secret: string, actor: AuditActor): Promise<WalletEntry> {
    const existing = await findEntry(this.deps.db, id);
    if (!existing) throw notFound('Wallet entry');
    await this.assertNotDuplicate(secret, id);
    const sealed = this.sealer.seal(secret, { id, service: existing.service });
    const now = this.now();
    const entry = await this.mutateAlways(id, 'wallet.replace_secret', actor, now, (trx, before) =>
      updateEntry(trx, id, {
        ciphertext: sealed.ciphertext,
        nonce: sealed.nonce,
        key_version: sealed.keyVersion,
        fingerprint: this.sealer.fingerprint(secret),
        secret_hint: maskSecret(secret),
        updated_at: now,
        ...(before.status === 'invalid' ? { status: 'active' as const, status_reason: null, invalid_at: null } : {}),
      }),
    );
    await this.changed(id);
    return entry;
  }

  /** The router's verdict after an upstream 401/403 (or a secret that will not decrypt). False when nothing changed. */
  async markInvalid(id: string, reason: string, actor: AuditActor = SYSTEM): Promise<boolean> {
    const now = this.now();
    const why = reason.slice(0, 200);
    const entry = await this.unlessGone(
      this.mutate(id, 'wallet.mark_invalid', actor, now, (trx, before) =>
        before.status === 'invalid' && before.statusReason === why
          ? null
          : updateEntry(trx, id, { status: 'invalid', status_reason: why, invalid_at: now, updated_at: now }),
      ),
    );
    if (!entry) return false;
    this.deps.logger.warn({ alert: 'wallet_entry_invalid', entryId: id, service: entry.service, reason: why }, 'wallet entry marked invalid');
    this.deps.metrics.walletEntryUp.labels(id, entry.service).set(0);
    // one alert per transition: the row lock above lets exactly one node (one call) make it
    this.deps.walletEvents?.walletEvent({
      kind: 'wallet.entry_invalid',
      entryId: id,
      period: now.toISOString(),
      threshold: 0,
      data: { entryId: id, service: entry.service, label: entry.label, tier: entry.tier, reason: why, invalidAt: now.toISOString() },
    });
    await this.changed(id);
    return true;
  }

  /**
   * An admin's word that invalid entries work again: these ids, or every invalid entry of a service. Entries that are
   * not invalid (active, or disabled on purpose) are left as they are and reported as skipped; one audit row each.
   */
  async reactivate(target: ReactivateInput, actor: AuditActor): Promise<{ reactivated: WalletEntry[]; skipped: { id: string; reason: string }[] }> {
    const candidates = target.ids
      ? target.ids
      : (await listEntries(this.deps.db, { service: target.service, status: 'invalid' })).map((e) => e.id);
    const reactivated: WalletEntry[] = [];
    const skipped: { id: string; reason: string }[] = [];
    for (const id of [...new Set(candidates)]) {
      const entry = await this.unlessGone(this.reactivateOne(id, actor));
      if (entry === null) skipped.push({ id, reason: 'not_found' });
      else if (entry.changed) reactivated.push(entry.entry);
      else skipped.push({ id, reason: `not invalid (${entry.entry.status})` });
    }
    return { reactivated, skipped };
  }

  private async reactivateOne(id: string, actor: AuditActor): Promise<{ entry: WalletEntry; changed: boolean }> {
    let current: WalletEntry | null = null;
    const now = this.now();
    const entry = await this.mutate(id, 'wallet.reactivate', actor, now, (trx, before) => {
      current = before;
      return before.status !== 'invalid' ? null : updateEntry(trx, id, { status: 'active', status_reason: null, invalid_at: null, updated_at: now });
    });
    if (!entry) return { entry: current!, changed: false };
    this.deps.metrics.walletEntryUp.labels(id, entry.service).set(1);
    await this.changed(id);
    return { entry, changed: true };
  }

  async markValid(id: string, actor: AuditActor = SYSTEM): Promise<boolean> {
    const now = this.now();
    const entry = await this.unlessGone(
      this.mutate(id, 'wallet.mark_valid', actor, now, (trx, before) =>
        before.status !== 'invalid' ? null : updateEntry(trx, id, { status: 'active', status_reason: null, invalid_at: null, updated_at: now }),
      ),
    );
    if (!entry) return false;
    this.deps.metrics.walletEntryUp.labels(id, entry.service).set(1);
    await this.changed(id);
    return true;
  }

  /**
   * The plaintext for one upstream call. Warm entries come from a short-lived cache; a secret that does not
   * decrypt marks its entry invalid ('decrypt_failed') and throws WalletEntryUnusable: skip the candidate.
   */
  async openSecret(entry: { id: string; sealed?: SealedRow }): Promise<string> {
    let sealed = entry.sealed;
    if (!sealed) {
      const cached = this.opener.cached(entry.id);
      if (cached !== undefined) return cached;
      const fresh = await findEntry(this.deps.db, entry.id);
      if (!fresh?.sealed) throw new WalletEntryUnusable(entry.id, 'not_found');
      sealed = fresh.sealed;
    }
    try {
      return this.opener.open(sealed);
    } catch (err) {
      const reason = (err as { reason?: string }).reason ?? 'unexpected';
      this.deps.logger.error({ entryId: entry.id, service: sealed.service, keyVersion: sealed.keyVersion, reason }, 'wallet entry could not be decrypted');
      await this.markInvalid(entry.id, 'decrypt_failed').catch((e) =>
        this.deps.logger.error({ err: e, entryId: entry.id }, 'could not mark an undecryptable wallet entry invalid'),
      );
      throw new WalletEntryUnusable(entry.id, 'decrypt_failed');
    }
  }

  /** Active entries of a service in one environment, cached per node until a 'wallet:changed' message (or 30 s). */
  activeEntries(service: string, environment: Environment): Promise<WalletEntry[]> {
    const key = `${service}\u0000${environment}`;
    const nowMs = this.deps.clock.now();
    const hit = this.activeCache.get(key);
    if (hit && nowMs - hit.at < MAX_STALENESS_MS) return hit.entries;
    // stale-while-error: the last good list keeps serving (up to MAX_STALE_ON_DB_ERROR_MS) while PostgreSQL is unreachable
    const last = this.lastActive.get(key);
    const entries = listEntries(this.deps.db, { service, environment, status: 'active' }).then(
      (list) => {
        if (this.activeCache.get(key)?.entries === entries) this.lastActive.set(key, { at: nowMs, list });
        return list;
      },
      (err: unknown) => {
        if (this.activeCache.get(key)?.entries === entries) this.activeCache.delete(key);
        if (last && isDatabaseUnavailable(err) && this.deps.clock.now() - last.at < MAX_STALE_ON_DB_ERROR_MS) return last.list;
        throw err;
      },
    );
    this.activeCache.set(key, { at: nowMs, entries });
    return entries;
  }

  /** Tells every node (this one included) that entries changed outside the methods above (rewrap). */
  async announce(ids: string[]): Promise<void> {
    for (const id of ids) await this.changed(id);
  }

  /** Drops what this node caches about an entry (called for every 'wallet:changed' message). */
  forget(id: string): void {
    this.opener.drop(id);
    this.activeCache.clear();
    this.lastActive.clear();
  }

  /** Any master-key version's fingerprint counts: a secret stored before a key rotation is still a duplicate. */
  private async assertNotDuplicate(secret: string, exceptId?: string): Promise<void> {
    const existing = await findByFingerprints(this.deps.db, this.sealer.fingerprints(secret));
    if (existing && existing !== exceptId) throw conflict('This secret is already in the wallet', { details: { id: existing } });
  }

  /**
   * Locks the row, applies `change` and audits presented before/after in the same transaction. `change` returns
   * the new entry, 'deleted', or null when there is nothing to do (no audit row then); the result is the entry
   * after the change (before it, for a delete), or null for nothing done.
   */
  private mutate(
    id: string,
    action: string,
    actor: AuditActor,
    now: Date,
    change: (trx: Knex.Transaction, before: WalletEntry) => Promise<WalletEntry | 'deleted' | null> | null,
  ): Promise<WalletEntry | null> {
    return this.inTransaction(async (trx) => {
      const before = await findEntry(trx, id, { forUpdate: true });
      if (!before) throw notFound('Wallet entry');
      const after = await change(trx, before);
      if (after === null) return null;
      const presentedAfter = after === 'deleted' ? null : presentEntry(after);
      await recordAudit(trx, actor, { action, targetType: 'wallet_entry', targetId: id, before: presentEntry(before), after: presentedAfter }, now);
      return after === 'deleted' ? before : after;
    });
  }

  /** For changes that always apply. */
  private async mutateAlways(...args: Parameters<WalletService['mutate']>): Promise<WalletEntry> {
    const entry = await this.mutate(...args);
    if (!entry) throw new Error(`wallet mutation ${args[1]} unexpectedly changed nothing`);
    return entry;
  }

  /** The router's verdicts about an entry deleted meanwhile are moot, not errors. */
  private async unlessGone<T>(pending: Promise<T | null>): Promise<T | null> {
    try {
      return await pending;
    } catch (err) {
      if (err instanceof AppError && err.code === 'not_found') return null;
      throw err;
    }
  }

  private async inTransaction<T>(fn: (trx: Knex.Transaction) => Promise<T>): Promise<T> {
    try {
      return await this.deps.db.transaction(fn);
    } catch (err) {
      if (isUniqueViolation(err)) throw conflict('This secret is already in the wallet');
      throw err;
    }
  }

  private async changed(id: string): Promise<void> {
    this.forget(id);
    try {
      await this.deps.kv.publish(WALLET_CHANNEL, id);
    } catch (err) {
      // Committed already; other nodes converge through their cache lifetimes.
      this.deps.logger.error({ err, entryId: id }, "could not publish 'wallet:changed'");
    }
  }

  private now(): Date {
    return new Date(this.deps.clock.now());
  }
}
