import { z } from 'zod';
import type { Deps } from '../deps';
import type { Api } from '../http/api';
import { verifyAuditChain } from '../audit/audit';

const verifyQuery = z
  .object({
    expectCount: z.coerce.number().int().min(0).optional(),
    expectHead: z.string().regex(/^[0-9a-f]{64}$/, 'must be a 64-character hex hash').optional(),
  })
  .refine((q) => (q.expectCount === undefined) === (q.expectHead === undefined), 'expectCount and expectHead go together');

const listQuery = z.object({
  action: z.string().trim().min(1).max(100).optional(),
  actorId: z.uuid().optional(),
  targetType: z.string().trim().min(1).max(50).optional(),
  targetId: z.string().trim().min(1).max(200).optional(),
  from: z.iso.datetime({ offset: true }).or(z.iso.date()).optional(),
  to: z.iso.datetime({ offset: true }).or(z.iso.date()).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
  offset: z.coerce.number().int().min(0).default(0),
});

/** Audit rows as they leave: the stored before/after are already presented (secret-free) at write time. */
function presentAuditRow(r: Record<string, unknown>) {
  return {
    id: Number(r.id),
    ts: r.ts,
    actor: { type: r.actor_type, id: r.actor_id },
    action: r.action,
    target: { type: r.target_type, id: r.target_id },
    ip: r.ip,
    requestId: r.request_id,
    before: r.before,
    after: r.after,
    prevHash: r.prev_hash,
    hash: r.hash,
  };
}

export function auditRoutes(deps: Deps, api: (tag: string) => Api) {
  return api('Audit')
    .route(
      { method: 'get', path: '/audit', summary: 'Audit log, newest first (filters: action, actorId, targetType, targetId, from, to)', auth: 'jwt', permission: 'audit:read', query: listQuery },
      async (_ctx, { query: q }) => {
        const query = deps.db('audit_log');
        // An action ending in '.' or '*' filters by prefix: 'api_key.' → every gateway-key action.
        if (q.action) {
          if (/[.*]$/.test(q.action)) query.where('action', 'like', `${q.action.replace(/\*$/, '').replace(/[\\%_]/g, (c) => `\\${c}`)}%`);
          else query.where({ action: q.action });
        }
        if (q.actorId) query.where({ actor_id: q.actorId });
        if (q.targetType) query.where({ target_type: q.targetType });
        if (q.targetId) query.where({ target_id: q.targetId });
        if (q.from) query.where('ts', '>=', new Date(q.from));
        if (q.to) query.where('ts', q.to.length === 10 ? '<' : '<=', q.to.length === 10 ? new Date(Date.parse(q.to) + 86_400_000) : new Date(q.to));
        const [{ count }] = await query.clone().count({ count: '*' });
        const rows = await query.orderBy('id', 'desc').limit(q.limit).offset(q.offset);
        return { data: rows.map(presentAuditRow), total: Number(count), limit: q.limit, offset: q.offset };
      },
    )
    .route(
      {
        method: 'get',
        path: '/audit/verify',
        summary: 'Walk the keyed hash chain and report the first broken link; with expectCount + expectHead (a checkpoint), truncation too',
        auth: 'jwt',
        permission: 'audit:read',
        query: verifyQuery,
      },
      (_ctx, { query: q }) =>
        verifyAuditChain(deps.db, { expect: q.expectCount !== undefined ? { count: q.expectCount, headHash: q.expectHead! } : undefined }),
    )
    .route(
      { method: 'get', path: '/audit/head', summary: 'A signed checkpoint of the audit chain: row count and head hash, to keep and verify against later', auth: 'jwt', permission: 'audit:read' },
      () => deps.audit.publish(),
    ).router;
}
