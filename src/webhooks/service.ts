import crypto from 'node:crypto';
import type { Knex } from 'knex';
import { AuditActor, recordAudit } from '../audit/audit';
import { can } from '../auth/permissions';
import type { SessionUser } from '../http/context';
import { AppError, badRequest, forbidden, notFound } from '../http/errors';
import { jsonb } from '../keys/service';
import { assertPublicHost, EndpointRejected, HostLookup } from '../proxy/endpoint-guard';
import { teamsAdministeredBy } from '../teams/access';
import type { Clock } from '../clock';
import type { Sealer } from '../wallet/crypto';
import type { WebhookDeliverer } from './deliverer';
import { ALERT_EVENTS, AlertEventType, CreateWebhookInput, TEAM_EVENTS, UpdateWebhookInput } from './schemas';
import { generateSigningSecret } from './signing';
import {
  AttemptRow, auditedWebhook, DeliveryRow, findWebhook, insertDeliveries, presentDelivery, presentWebhook, sealSigningSecret, WebhookRow,
} from './store';

/**
 * /webhooks: org admins manage every webhook (org-wide ones, and any team's); a team admin manages the webhooks of
 * their own team, which receive that team's budget alerts only, and may not allow a private address. Every change is
 * audited (the URL as its origin only). The signing secret is generated here, sealed, and shown once.
 */

export interface WebhookContext {
  db: Knex;
  clock: Clock;
  sealer: Sealer;
  deliverer: WebhookDeliverer;
  /** DNS lookup for the private-address check (tests may inject one) */
  lookup?: HostLookup;
}

const isOrgAdmin = (user: SessionUser) => can(user.role, 'webhooks:write');

async function teamsOf(db: Knex, user: SessionUser): Promise<Set<string>> {
  return new Set<string>(await teamsAdministeredBy(db, user.id).pluck('team_id'));
}

/** Creating or moving a webhook into `teamId` (null: organisation-wide). */
async function assertMayManage(db: Knex, user: SessionUser, teamId: string | null): Promise<void> {
  if (isOrgAdmin(user)) return;
  if (teamId === null) throw forbidden('Only an admin may manage organisation-wide webhooks; a team admin gives the teamId of their team');
  if (!(await teamsOf(db, user)).has(teamId)) throw forbidden('Only an admin or a team admin of this team may manage its webhooks');
}

/** The webhook if the caller may manage it. Someone else's team's webhook is answered as unknown. */
async function accessible(db: Knex, user: SessionUser, id: string, forUpdate = false): Promise<WebhookRow> {
  const orgAdmin = isOrgAdmin(user);
  const teams = orgAdmin ? null : await teamsOf(db, user);
  if (teams && teams.size === 0) throw forbidden('Webhooks are managed by admins and team admins');
  const row = forUpdate ? ((await db<WebhookRow>('webhooks').where({ id }).forUpdate().first()) as WebhookRow | undefined) : await findWebhook(db, id);
  if (!row || (teams && (row.team_id === null || !teams.has(row.team_id)))) throw notFound('Webhook');
  return row;
}

async function assertSafeUrl(url: string, allowPrivate: boolean, lookup?: HostLookup): Promise<void> {
  if (allowPrivate) return;
  try {
    await assertPublicHost(url, lookup);
  } catch (err) {
    if (!(err instanceof EndpointRejected)) throw err;
    throw badRequest(`url refused: ${err.reason}; an admin may set allowPrivate: true to allow a private address explicitly`, { param: 'url' });
  }
}

function assertEvents(teamId: string | null, events: AlertEventType[]): void {
  if (teamId === null) return;
  const outside = events.filter((e) => !TEAM_EVENTS.includes(e));
  if (outside.length) {
    throw badRequest(`A team webhook receives its team's budget alerts only; not: ${outside.join(', ')}`, { param: 'events' });
  }
}

async function assertTeamExists(trx: Knex, teamId: string | null): Promise<void> {
  if (teamId !== null && !(await trx('teams').where({ id: teamId }).first('id'))) throw notFound('Team');
}

export async function createWebhook(c: WebhookContext, user: SessionUser, input: CreateWebhookInput, actor: AuditActor) {
  const teamId = input.teamId ?? null;
  await assertMayManage(c.db, user, teamId);
  if (input.allowPrivate && !isOrgAdmin(user)) throw forbidden('Only an admin may allow a webhook a private address');
  const events = input.events ?? [...(teamId ? TEAM_EVENTS : ALERT_EVENTS)];
  assertEvents(teamId, events);
  await assertSafeUrl(input.url, input.allowPrivate, c.lookup);
  const id = crypto.randomUUID();
  const secret = generateSigningSecret();
  const now = new Date(c.clock.now());
  const webhook = await c.db.transaction(async (trx) => {
    await assertTeamExists(trx, teamId);
    const [row] = (await trx('webhooks')
      .insert({
        id,
        team_id: teamId,
        description: input.description ?? null,
        url: input.url,
        events: jsonb(events),
        enabled: input.enabled,
        allow_private: input.allowPrivate,
        ...sealSigningSecret(c.sealer, id, secret),
        created_by: actor.type === 'user' ? actor.id ?? null : null,
        created_at: now,
        updated_at: now,
      })
      .returning('*')) as WebhookRow[];
    await recordAudit(trx, actor, { action: 'webhook.create', targetType: 'webhook', targetId: id, after: auditedWebhook(row) }, now);
    return row;
  });
  return { ...presentWebhook(webhook), secret };
}

export async function listWebhooks(c: WebhookContext, user: SessionUser, filter: { teamId?: string }) {
  const q = c.db<WebhookRow>('webhooks').orderBy('created_at');
  if (!isOrgAdmin(user)) {
    const teams = await teamsOf(c.db, user);
    if (teams.size === 0) throw forbidden('Webhooks are managed by admins and team admins');
    q.whereIn('team_id', [...teams]);
  }
  if (filter.teamId) q.where({ team_id: filter.teamId });
  return { data: ((await q) as WebhookRow[]).map(presentWebhook) };
}

export async function getWebhook(c: WebhookContext, user: SessionUser, id: string) {
  return presentWebhook(await accessible(c.db, user, id));
}

export async function updateWebhook(c: WebhookContext, user: SessionUser, id: string, patch: UpdateWebhookInput, actor: AuditActor) {
  if (patch.allowPrivate && !isOrgAdmin(user)) throw forbidden('Only an admin may allow a webhook a private address');
  const now = new Date(c.clock.now());
  const current = await accessible(c.db, user, id);
  const url = patch.url ?? current.url;
  const allowPrivate = patch.allowPrivate ?? current.allow_private;
  if (patch.events) assertEvents(current.team_id, patch.events);
  if (patch.url !== undefined || patch.allowPrivate === false) await assertSafeUrl(url, allowPrivate, c.lookup);
  return c.db.transaction(async (trx) => {
    const before = await accessible(trx, user, id, true);
    const changes: Record<string, unknown> = { updated_at: now };
    if (patch.url !== undefined) changes.url = patch.url;
    if (patch.events !== undefined) changes.events = jsonb(patch.events);
    if (patch.description !== undefined) changes.description = patch.description;
    if (patch.enabled !== undefined) changes.enabled = patch.enabled;
    if (patch.allowPrivate !== undefined) changes.allow_private = patch.allowPrivate;
    const [row] = (await trx('webhooks').where({ id }).update(changes).returning('*')) as WebhookRow[];
    await recordAudit(trx, actor, { action: 'webhook.update', targetType: 'webhook', targetId: id, before: auditedWebhook(before), after: auditedWebhook(row) }, now);
    return presentWebhook(row);
  });
}

export async function deleteWebhook(c: WebhookContext, user: SessionUser, id: string, actor: AuditActor): Promise<void> {
  const now = new Date(c.clock.now());
  await accessible(c.db, user, id);
  await c.db.transaction(async (trx) => {
    const before = await accessible(trx, user, id, true);
    await trx('webhooks').where({ id }).delete();
    await recordAudit(trx, actor, { action: 'webhook.delete', targetType: 'webhook', targetId: id, before: auditedWebhook(before) }, now);
  });
}

/** A new signing secret, shown once; the old one stops signing at once. */
export async function rotateWebhookSecret(c: WebhookContext, user: SessionUser, id: string, actor: AuditActor) {
  const now = new Date(c.clock.now());
  await accessible(c.db, user, id);
  const secret = generateSigningSecret();
  const row = await c.db.transaction(async (trx) => {
    await accessible(trx, user, id, true);
    const [updated] = (await trx('webhooks').where({ id }).update({ ...sealSigningSecret(c.sealer, id, secret), updated_at: now }).returning('*')) as WebhookRow[];
    await recordAudit(trx, actor, { action: 'webhook.rotate_secret', targetType: 'webhook', targetId: id, after: auditedWebhook(updated) }, now);
    return updated;
  });
  return { ...presentWebhook(row), secret };
}

/**
 * Sends a sample event (`webhook.test`) now, through the same path as an alert (signature, delivery log, retries),
 * and answers with the delivery as it stands after the first attempt.
 */
export async function testWebhook(c: WebhookContext, user: SessionUser, id: string, actor: AuditActor) {
  const webhook = await accessible(c.db, user, id);
  const nowMs = c.clock.now();
  const now = new Date(nowMs);
  const eventId = crypto.randomUUID();
  const body = JSON.stringify({
    id: eventId,
    type: 'webhook.test',
    createdAt: now.toISOString(),
    data: { webhookId: webhook.id, teamId: webhook.team_id, message: 'A test event from Keywallet: your endpoint receives and verifies signed events.' },
  });
  const [row] = await c.db.transaction(async (trx) => {
    const rows = await insertDeliveries(trx, [webhook.id], { id: eventId, type: 'webhook.test', body }, now, 'delivering', new Date(nowMs + c.deliverer.opts.leaseMs));
    await recordAudit(trx, actor, { action: 'webhook.test', targetType: 'webhook', targetId: webhook.id, after: { eventId } }, now);
    return rows;
  });
  await c.deliverer.attempt(row);
  return deliveryWithLog(c.db, row.id);
}

async function deliveryWithLog(db: Knex, deliveryId: number | string) {
  const row = (await db<DeliveryRow>('webhook_deliveries').where({ id: deliveryId }).first()) as DeliveryRow | undefined;
  if (!row) throw new AppError('not_found', 'Delivery not found');
  const attempts = (await db<AttemptRow>('webhook_delivery_attempts').where({ delivery_id: deliveryId }).orderBy('id')) as AttemptRow[];
  return presentDelivery(row, attempts);
}

/** The delivery log of one webhook, newest first, each delivery with its attempts. */
export async function listDeliveries(c: WebhookContext, user: SessionUser, id: string, query: { limit: number; status?: DeliveryRow['status'] }) {
  await accessible(c.db, user, id);
  const q = c.db<DeliveryRow>('webhook_deliveries').where({ webhook_id: id }).orderBy('id', 'desc').limit(query.limit);
  if (query.status) q.where({ status: query.status });
  const rows = (await q) as DeliveryRow[];
  const attempts = rows.length
    ? ((await c.db<AttemptRow>('webhook_delivery_attempts').whereIn('delivery_id', rows.map((r) => r.id)).orderBy('id')) as AttemptRow[])
    : [];
  const byDelivery = new Map<string, AttemptRow[]>();
  for (const a of attempts) {
    const list = byDelivery.get(String(a.delivery_id)) ?? [];
    list.push(a);
    byDelivery.set(String(a.delivery_id), list);
  }
  return { data: rows.map((r) => presentDelivery(r, byDelivery.get(String(r.id)) ?? [])) };
}
