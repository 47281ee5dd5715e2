import type { Knex } from 'knex';
import { AuditKeys, AuditRowContent, auditKeysOf, keyedRowHash, rowHash } from './chain';

export { canonicalJson, rowHash } from './chain';

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
/** The first keyed row after unkeyed ones: records how many there were and their head, sealing them. */
export const CHAIN_KEYED_ACTION = 'audit.chain_keyed';

async function appendRow(trx: Knex.Transaction, keys: AuditKeys, row: AuditRowContent): Promise<void> {
  const last = await trx('audit_log').select('hash').orderBy('id', 'desc').first();
  const prevHash: string = last?.hash ?? GENESIS_HASH;
  const key = keys.chain.get(keys.current)!;
  await trx('audit_log').insert({
    ...row,
    before: row.before === null ? null : JSON.stringify(row.before),
    after: row.after === null ? null : JSON.stringify(row.after),
    prev_hash: prevHash,
    hash: keyedRowHash(key, keys.current, prevHash, row),
    key_version: keys.current,
  });
}

/**
 * Appends one row to the hash chain inside the caller's transaction, so the audit row commits or rolls back
 * with the change it records. Callers pass presented (secret-free) before/after objects.
 */
export async function recordAudit(trx: Knex.Transaction, actor: AuditActor, entry: AuditEntry, now = new Date()): Promise<void> {
  const keys = auditKeysOf(trx);
  await trx.raw('select pg_advisory_xact_lock(?)', [CHAIN_LOCK]);
  await appendRow(trx, keys, {
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
  });
}

/**
 * Run at boot, after migrations: when the chain holds unkeyed rows (written before migration 003) and no keyed
 * row yet, appends the sealing row. Its `after` records the unkeyed rows' count and head hash, and its keyed hash
 * links to that head: from then on, re-hashing any old row breaks a link only the master key can mend.
 */
export async function sealUnkeyedAuditRows(db: Knex, now = new Date()): Promise<{ sealed: number } | null> {
  return db.transaction(async (trx) => {
    await trx.raw('select pg_advisory_xact_lock(?)', [CHAIN_LOCK]);
    if (await trx('audit_log').whereNotNull('key_version').first('id')) return null;
    const [{ n }] = await trx('audit_log').count({ n: '*' });
    const unkeyed = Number(n);
    if (unkeyed === 0) return null;
    const head = await trx('audit_log').select('hash').orderBy('id', 'desc').first();
    await appendRow(trx, auditKeysOf(db), {
      ts: new Date(Math.floor(now.getTime())),
      actor_type: 'system',
      actor_id: null,
      action: CHAIN_KEYED_ACTION,
      target_type: 'audit_log',
      target_id: null,
      ip: null,
      request_id: null,
      before: null,
      after: { unkeyedRows: unkeyed, unkeyedHead: head.hash },
    });
    return { sealed: unkeyed };
  });
}

export interface VerifyExpectation {
  /** rows a checkpoint counted: the chain must hold at least that many ... */
  count: number;
  /** ... and the hash of row number `count` must be this one */
  headHash: string;
}

export interface VerifyResult {
  ok: boolean;
  checked: number;
  firstBrokenId: number | null;
  reason: string | null;
  /** the newest row's hash: with `checked`, the checkpoint of the chain as verified */
  headHash?: string;
}

/**
 * Walks the chain in id order; the first row whose link or hash does not match is reported. Unkeyed rows may only
 * form the chain's start and must be sealed by the first keyed row. With `expect` (a checkpoint published earlier),
 * a chain shorter than the checkpoint, or whose row at the checkpoint's count has another hash, is reported too:
 * dropping the newest rows leaves a valid-looking chain that only a checkpoint kept elsewhere can expose.
 */
export async function verifyAuditChain(db: Knex, opts: { expect?: VerifyExpectation; batchSize?: number } = {}): Promise<VerifyResult> {
  const keys = auditKeysOf(db);
  const batchSize = opts.batchSize ?? 1000;
  const expect = opts.expect;
  let prevHash = GENESIS_HASH;
  let lastId = 0;
  let checked = 0;
  let unkeyed = 0;
  let keyed = 0;
  const broken = (id: number, reason: string): VerifyResult => ({ ok: false, checked, firstBrokenId: id, reason });
  for (;;) {
    const rows = await db('audit_log').where('id', '>', lastId).orderBy('id').limit(batchSize);
    if (rows.length === 0) break;
    for (const r of rows) {
      const id = Number(r.id);
      if (r.prev_hash !== prevHash) return broken(id, 'link to the previous row does not match');
      if (r.key_version === null || r.key_version === undefined) {
        if (keyed > 0) return broken(id, 'an unkeyed row after keyed ones');
        if (rowHash(prevHash, r) !== r.hash) return broken(id, 'row content does not match its hash');
        unkeyed++;
      } else {
        const version = Number(r.key_version);
        const key = keys.chain.get(version);
        if (!key) return broken(id, `row keyed with master key version ${version}, which is not configured`);
        if (keyedRowHash(key, version, prevHash, r) !== r.hash) return broken(id, 'row content does not match its hash');
        if (keyed === 0 && unkeyed > 0) {
          const seal = r.after as { unkeyedRows?: unknown; unkeyedHead?: unknown } | null;
          if (r.action !== CHAIN_KEYED_ACTION || seal?.unkeyedRows !== unkeyed || seal?.unkeyedHead !== prevHash) {
            return broken(id, `the ${unkeyed} unkeyed rows before this one are not the ones the chain was sealed with`);
          }
        }
        keyed++;
      }
      prevHash = r.hash;
      lastId = id;
      checked++;
      if (expect && checked === expect.count && r.hash !== expect.headHash) {
        return broken(id, `row ${checked} of the chain does not have the checkpoint's head hash`);
      }
    }
  }
  if (unkeyed > 0 && keyed === 0) {
    return { ok: false, checked, firstBrokenId: null, reason: `${unkeyed} unkeyed rows and no keyed row sealing them` };
  }
  if (expect && checked < expect.count) {
    return { ok: false, checked, firstBrokenId: null, reason: `truncated: the checkpoint counted ${expect.count} rows, the chain holds ${checked}` };
  }
  return { ok: true, checked, firstBrokenId: null, reason: null, headHash: prevHash };
}
