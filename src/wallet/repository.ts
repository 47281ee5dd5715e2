import type { Knex } from 'knex';
import type { Quota } from '../routing/quota';
import type { SealedRow } from './crypto';

/**
 * wallet_entries rows ↔ WalletEntry. `quota.limit` is stored in counter units — requests, tokens, or
 * micro-credits for `credits` — so `quotaCounter(entry.id, entry.quota, …)` can use it as is.
 */

export type Tier = 'free' | 'paid';
export type Environment = 'live' | 'test';
export type EntryStatus = 'active' | 'disabled' | 'invalid';

export interface WalletEntryRow {
  id: string;
  service: string;
  label: string;
  tier: Tier;
  priority: number;
  weight: number;
  environment: Environment;
  status: EntryStatus;
  status_reason: string | null;
  /** the team whose own pool this is; null: the organisation's shared pool */
  team_id: string | null;
  ciphertext: Uint8Array;
  nonce: Uint8Array;
  key_version: number;
  fingerprint: string;
  secret_hint: string;
  quota: Quota | string | null;
  metadata: Record<string, unknown> | string | null;
  created_by: string | null;
  last_used_at: Date | null;
  invalid_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

export interface WalletEntry {
  id: string;
  service: string;
  label: string;
  tier: Tier;
  priority: number;
  weight: number;
  environment: Environment;
  status: EntryStatus;
  statusReason: string | null;
  /** the team whose own pool this is; null: the organisation's shared pool */
  teamId: string | null;
  secretHint: string;
  keyVersion: number;
  quota: Quota | null;
  metadata: Record<string, unknown>;
  createdBy: string | null;
  lastUsedAt: Date | null;
  invalidAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
  /**
   * What `WalletService.openSecret` needs. Not enumerable, so logging, spreading or serialising an entry never
   * carries the ciphertext along; a copy without it is opened by looking the row up again.
   */
  readonly sealed?: SealedRow;
}

const parse = <T>(v: T | string | null): T | null => (typeof v === 'string' ? (JSON.parse(v) as T) : v);

export function rowToEntry(r: WalletEntryRow): WalletEntry {
  const entry: WalletEntry = {
    id: r.id,
    service: r.service,
    label: r.label,
    tier: r.tier,
    priority: r.priority,
    weight: r.weight,
    environment: r.environment,
    status: r.status,
    statusReason: r.status_reason,
    teamId: r.team_id ?? null,
    secretHint: r.secret_hint,
    keyVersion: r.key_version,
    quota: parse<Quota>(r.quota),
    metadata: parse<Record<string, unknown>>(r.metadata) ?? {},
    createdBy: r.created_by,
    lastUsedAt: r.last_used_at,
    invalidAt: r.invalid_at,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
  const sealed: SealedRow = {
    id: r.id,
    service: r.service,
    ciphertext: Buffer.from(r.ciphertext),
    nonce: Buffer.from(r.nonce),
    keyVersion: r.key_version,
  };
  Object.defineProperty(entry, 'sealed', { value: sealed, enumerable: false });
  return entry;
}

export interface EntryFilter {
  service?: string;
  tier?: Tier;
  status?: EntryStatus;
  environment?: Environment;
  /** one team's pool; null: the shared pool */
  team_id?: string | null;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const isUuid = (id: string) => UUID.test(id);

export async function findEntry(db: Knex, id: string, opts: { forUpdate?: boolean } = {}): Promise<WalletEntry | null> {
  if (!isUuid(id)) return null;
  const q = db('wallet_entries').where({ id }).first();
  const row = (await (opts.forUpdate ? q.forUpdate() : q)) as WalletEntryRow | undefined;
  return row ? rowToEntry(row) : null;
}

/** `inAnyTeam`: only entries in some team's pool. */
export async function listEntries(db: Knex, filter: EntryFilter = {}, inAnyTeam = false): Promise<WalletEntry[]> {
  const where = Object.fromEntries(Object.entries(filter).filter(([, v]) => v !== undefined && v !== null));
  const q = db('wallet_entries').where(where);
  if (filter.team_id === null) q.whereNull('team_id');
  if (inAnyTeam) q.whereNotNull('team_id');
  const rows = (await q.orderBy([{ column: 'service' }, { column: 'priority' }, { column: 'created_at' }])) as WalletEntryRow[];
  return rows.map(rowToEntry);
}

/** The id of the entry holding any of these fingerprints (one per master-key version), if any. */
export async function findByFingerprints(db: Knex, fingerprints: string[]): Promise<string | null> {
  const row = await db('wallet_entries').whereIn('fingerprint', fingerprints).first('id');
  return row ? (row.id as string) : null;
}

export async function insertEntry(trx: Knex, row: Omit<WalletEntryRow, 'last_used_at' | 'invalid_at'>): Promise<WalletEntry> {
  const [inserted] = (await trx('wallet_entries')
    .insert({ ...row, quota: row.quota === null ? null : JSON.stringify(row.quota), metadata: JSON.stringify(row.metadata ?? {}) })
    .returning('*')) as WalletEntryRow[];
  return rowToEntry(inserted);
}

export type EntryChanges = Partial<Omit<WalletEntryRow, 'id' | 'service' | 'created_at' | 'created_by'>>;

export async function updateEntry(trx: Knex, id: string, changes: EntryChanges): Promise<WalletEntry> {
  const values: Record<string, unknown> = { ...changes };
  if ('quota' in changes) values.quota = changes.quota === null ? null : JSON.stringify(changes.quota);
  if ('metadata' in changes) values.metadata = JSON.stringify(changes.metadata ?? {});
  const [row] = (await trx('wallet_entries').where({ id }).update(values).returning('*')) as WalletEntryRow[];
  return rowToEntry(row);
}

export async function deleteEntry(trx: Knex, id: string): Promise<void> {
  await trx('wallet_entries').where({ id }).delete();
}
