import crypto from 'node:crypto';
import { types } from 'node:util';
import type { Knex } from 'knex';
// `import =` keeps the live module object (libsodium fills in its functions once ready); see wallet/crypto.ts.
import sodium = require('libsodium-wrappers');
import { deriveSubkeys, MasterKeyRing } from '../wallet/crypto';

/**
 * How audit rows are hashed. A row's hash covers the previous row's hash and the row's content, so the rows form
 * a chain. Since migration 003 the hash is keyed — BLAKE2b (crypto_generichash) under a key derived from the
 * master key (crypto_kdf, context 'kwaudit1'), the master key version stored in `key_version` — so someone with
 * write access to the database but not the master key can no longer rewrite a row and re-hash the rest.
 * Rows from before (key_version null) keep their plain SHA-256 hashes; the first keyed row seals them.
 *
 * Checkpoints (count + head hash) are signed with a second derived key ('kwauditc'), so a checkpoint kept
 * outside the database can be checked for having come from the gateway.
 */

const CHAIN_CONTEXT = 'kwaudit1';
const CHECKPOINT_CONTEXT = 'kwauditc';

export interface AuditKeys {
  /** the master key version new rows are keyed with */
  current: number;
  chain: Map<number, Uint8Array>;
  checkpoint: Map<number, Uint8Array>;
}

export function deriveAuditKeys(ring: MasterKeyRing): AuditKeys {
  return { current: ring.current, chain: deriveSubkeys(ring, CHAIN_CONTEXT), checkpoint: deriveSubkeys(ring, CHECKPOINT_CONTEXT) };
}

/**
 * The keys a database's audit rows are written with. recordAudit is called with a transaction in some thirty places;
 * a transaction shares its client's config object, so the keys are found from it without threading them through.
 */
const boundKeys = new WeakMap<object, AuditKeys>();

export function bindAuditKeys(db: Knex, keys: AuditKeys): void {
  boundKeys.set(db.client.config, keys);
}

export function auditKeysOf(db: Knex | Knex.Transaction): AuditKeys {
  const keys = boundKeys.get(db.client.config);
  if (!keys) throw new Error('audit keys are not bound to this database: createDeps binds them (bindAuditKeys)');
  return keys;
}

/** JSON with object keys sorted at every depth, so jsonb's reordering cannot change a row's hash. */
export function canonicalJson(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  // not instanceof: a Date read from the embedded database's worker thread may come from another realm (Jest's vm)
  if (types.isDate(value)) return JSON.stringify(value.toISOString());
  if (typeof value === 'object') {
    const obj = value as Record<string, unknown>;
    const keys = Object.keys(obj).filter((k) => obj[k] !== undefined).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

export interface AuditRowContent {
  ts: Date;
  actor_type: string;
  actor_id: string | null;
  action: string;
  target_type: string;
  target_id: string | null;
  ip: string | null;
  request_id: string | null;
  before: unknown;
  after: unknown;
}

function rowContent(row: AuditRowContent): string {
  return canonicalJson({
    ts: new Date(row.ts).toISOString(),
    actor_type: row.actor_type,
    actor_id: row.actor_id ?? null,
    action: row.action,
    target_type: row.target_type,
    target_id: row.target_id ?? null,
    ip: row.ip ?? null,
    request_id: row.request_id ?? null,
    before: row.before ?? null,
    after: row.after ?? null,
  });
}

/** The unkeyed hash of rows written before migration 003 (exactly the content columns). */
export function rowHash(prevHash: string, row: AuditRowContent): string {
  return crypto.createHash('sha256').update(prevHash).update('\n').update(rowContent(row)).digest('hex');
}

/** The keyed hash of a row; the key version is part of what is hashed, so it cannot be swapped either. */
export function keyedRowHash(key: Uint8Array, keyVersion: number, prevHash: string, row: AuditRowContent): string {
  const message = `keywallet-audit:v2|${keyVersion}|${prevHash}\n${rowContent(row)}`;
  return sodium.crypto_generichash(32, sodium.from_string(message), key, 'hex');
}

export interface Checkpoint {
  /** rows in the chain */
  count: number;
  /** hash of the newest row (GENESIS_HASH for an empty chain) */
  headHash: string;
  /** when the checkpoint was taken (ISO 8601) */
  at: string;
  keyVersion: number;
  /** keyed BLAKE2b over count, head and time: made only by someone holding the master key */
  signature: string;
}

function checkpointMessage(c: Pick<Checkpoint, 'count' | 'headHash' | 'at' | 'keyVersion'>): string {
  return `keywallet-audit-checkpoint:v1|${c.keyVersion}|${c.count}|${c.headHash}|${c.at}`;
}

export function signCheckpoint(keys: AuditKeys, c: Omit<Checkpoint, 'signature' | 'keyVersion'>): Checkpoint {
  const unsigned = { ...c, keyVersion: keys.current };
  const signature = sodium.crypto_generichash(32, sodium.from_string(checkpointMessage(unsigned)), keys.checkpoint.get(keys.current)!, 'hex');
  return { ...unsigned, signature };
}

/** Whether a checkpoint (from a log line, GET /audit/head or a file) was signed by this gateway's master key. */
export function checkpointSignatureValid(keys: AuditKeys, c: Checkpoint): boolean {
  const key = keys.checkpoint.get(c.keyVersion);
  if (!key || typeof c.signature !== 'string') return false;
  const want = Buffer.from(sodium.crypto_generichash(32, sodium.from_string(checkpointMessage(c)), key, 'hex'));
  const given = Buffer.from(c.signature);
  return want.length === given.length && crypto.timingSafeEqual(want, given);
}
