import type { Knex } from 'knex';
import { jsonValue } from './lookup';
import { AppError } from '../http/errors';
import { AuditActor, recordAudit } from '../audit/audit';
import { GatewayKeyRow, presentGatewayKey, PresentedGatewayKey } from './presenter';
import type { BulkRotateInput, RotateKeyInput } from './schemas';
import { announceKeyChange, findAccessibleKey, insertKey, isRotatable, isUuid, IssuedKey, jsonb, KeyAccess, KeyServiceDeps } from './service';

const copyJson = (value: unknown) => jsonb(jsonValue(value));

export interface RotatedKey extends IssuedKey {
  /** the key that was replaced, as it is now (expiring at the end of the grace period, or revoked) */
  previous: PresentedGatewayKey;
}

/**
 * Replaces a key by a new secret with the same owner, restrictions and limits. The old key stays usable
 * only for the grace period (its expiry is brought forward), or is revoked at once when there is none.
 */
async function rotateRow(
  trx: Knex.Transaction,
  old: GatewayKeyRow,
  input: RotateKeyInput,
  actor: AuditActor,
  nowMs: number,
): Promise<RotatedKey> {
  const { row, key } = await insertKey(trx, {
    user_id: old.user_id,
    team_id: old.team_id ?? null,
    name: old.name,
    environment: old.environment,
    scopes: copyJson(old.scopes),
    services: copyJson(old.services),
    models: copyJson(old.models),
    allowed_ips: copyJson(old.allowed_ips),
    allowed_referrers: copyJson(old.allowed_referrers),
    limits: copyJson(old.limits),
    admin_restrictions: copyJson(old.admin_restrictions),
    monthly_credits_micros: old.monthly_credits_micros,
    expires_at: old.expires_at,
    rotated_from: old.id,
  });
  const now = new Date(nowMs);
  const graceEnds = new Date(nowMs + input.gracePeriodSeconds * 1000);
  const oldChanges =
    input.gracePeriodSeconds === 0
      ? { status: 'revoked', revoked_at: now, revoked_reason: input.reason ?? 'rotated' }
      : { expires_at: old.expires_at && old.expires_at < graceEnds ? old.expires_at : graceEnds };
  const [oldAfter] = (await trx('gateway_keys')
    .where({ id: old.id })
    .update({ ...oldChanges, replaced_by: row.id, updated_at: now })
    .returning('*')) as GatewayKeyRow[];
  const record = presentGatewayKey(row, nowMs);
  const previous = presentGatewayKey(oldAfter, nowMs);
  await recordAudit(trx, actor, {
    action: 'api_key.rotate',
    targetType: 'api_key',
    targetId: old.id,
    before: presentGatewayKey(old, nowMs),
    after: { ...previous, reason: input.reason ?? null, gracePeriodSeconds: input.gracePeriodSeconds },
  });
  await recordAudit(trx, actor, { action: 'api_key.create', targetType: 'api_key', targetId: row.id, after: record });
  return { record, key, previous };
}

export async function rotateGatewayKey(
  deps: KeyServiceDeps,
  access: KeyAccess,
  id: string,
  input: RotateKeyInput,
  actor: AuditActor,
): Promise<RotatedKey> {
  const nowMs = deps.clock.now();
  const rotated = await deps.db.transaction(async (trx) => {
    const old = await findAccessibleKey(trx, access, id, true);
    const refusal = isRotatable(old, nowMs);
    if (refusal) throw new AppError('conflict', `Cannot rotate: ${refusal}`);
    return rotateRow(trx, old, input, actor, nowMs);
  });
  await announceKeyChange(deps, [id, rotated.record.id]);
  return rotated;
}

export interface BulkRotateResult {
  rotated: RotatedKey[];
  skipped: { id: string; reason: string }[];
}

/** Admin: every rotatable key among `ids`, or every active key of `userId`, in one transaction. */
export async function bulkRotateGatewayKeys(deps: KeyServiceDeps, input: BulkRotateInput, actor: AuditActor): Promise<BulkRotateResult> {
  const nowMs = deps.clock.now();
  const result = await deps.db.transaction(async (trx) => {
    const query = trx('gateway_keys').orderBy('created_at').forUpdate();
    if (input.ids) query.whereIn('id', input.ids.filter(isUuid));
    else query.where({ user_id: input.userId, status: 'active' }).whereNull('replaced_by');
    const rows = (await query) as GatewayKeyRow[];
    const found = new Set(rows.map((r) => r.id));
    const out: BulkRotateResult = {
      rotated: [],
      skipped: (input.ids ?? []).filter((id) => !found.has(id)).map((id) => ({ id, reason: 'not found' })),
    };
    for (const row of rows) {
      const refusal = isRotatable(row, nowMs);
      if (refusal) out.skipped.push({ id: row.id, reason: refusal });
      else out.rotated.push(await rotateRow(trx, row, input, actor, nowMs));
    }
    return out;
  });
  const changed = result.rotated.flatMap((r) => [r.previous.id, r.record.id]);
  if (changed.length) await announceKeyChange(deps, changed);
  return result;
}
