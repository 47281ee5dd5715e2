import crypto from 'node:crypto';
import type { Knex } from 'knex';

export interface AuditActor {
  type: 'user' | 'system' | 'cli';
  id?: string | null;
  ip?: string | null;
  requestId?: string | null;
}

export interface AuditEntry {
  action: string; // e.g. 'api_key.create'
  targetType: string;
  targetId?: string | null;
  before?: unknown;
  after?: unknown;
}

export const GENESIS_HASH = '0'.repeat(64);
const CHAIN_LOCK = 7_151_999; // pg_advisory_xact_lock id serialising appends to the chain

/** JSON with object keys sorted at every depth, so jsonb's reordering cannot change a row's hash. */
export function canonicalJson(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value instanceof Date) return JSON.stringify(value.toISOString());
  if (typeof value === 'object') {
    const obj = value as Record<string, unknown>;
    const keys = Object.keys(obj).filter((k) => obj[k] !== undefined).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

interface AuditRowContent {
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

/** Hashes exactly the content columns: a row read back from the database also carries id, prev_hash and hash. */
export function rowHash(prevHash: string, row: AuditRowContent): string {
  const content = canonicalJson({
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
  return crypto.createHash('sha256').update(prevHash).update('\n').update(content).digest('hex');
}

/**
 * Appends one row to the hash chain inside the caller's transaction, so the audit row commits or rolls back
 * with the change it records. Callers pass presented (secret-free) before/after objects.
 */
export async function recordAudit(trx: Knex.Transaction, actor: AuditActor, entry: AuditEntry, now = new Date()): Promise<void> {
  await trx.raw('select pg_advisory_xact_lock(?)', [CHAIN_LOCK]);
  const last = await trx('audit_log').select('hash').orderBy('id', 'desc').first();
  const prevHash: string = last?.hash ?? GENESIS_HASH;
  const row: AuditRowContent = {
    ts: new Date(Math.floor(now.getTime())),
    actor_type: actor.type,
    actor_id: actor.id ?? null,
    action: entry.action,
    target_type: entry.targetType,
    target_id: entry.targetId ?? null,
    ip: actor.ip ?? null,
    request_id: actor.requestId ?? null,
    before: entry.before ?? null,
    after: entry.after ?? null,
  };
  await trx('audit_log').insert({
    ...row,
    before: row.before === null ? null : JSON.stringify(row.before),
    after: row.after === null ? null : JSON.stringify(row.after),
    prev_hash: prevHash,
    hash: rowHash(prevHash, row),
  });
}

export interface VerifyResult {
  ok: boolean;
  checked: number;
  firstBrokenId: number | null;
  reason: string | null;
}

/** Walks the chain in id order; the first row whose link or content hash does not match is reported. */
export async function verifyAuditChain(db: Knex, batchSize = 1000): Promise<VerifyResult> {
  let prevHash = GENESIS_HASH;
  let lastId = 0;
  let checked = 0;
  for (;;) {
    const rows = await db('audit_log').where('id', '>', lastId).orderBy('id').limit(batchSize);
    if (rows.length === 0) return { ok: true, checked, firstBrokenId: null, reason: null };
    for (const r of rows) {
      if (r.prev_hash !== prevHash) return { ok: false, checked, firstBrokenId: Number(r.id), reason: 'link to the previous row does not match' };
      if (rowHash(prevHash, r) !== r.hash) return { ok: false, checked, firstBrokenId: Number(r.id), reason: 'row content does not match its hash' };
      prevHash = r.hash;
      lastId = Number(r.id);
      checked++;
    }
  }
}
