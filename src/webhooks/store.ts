import type { Knex } from 'knex';
import type { Sealer } from '../wallet/crypto';
import { jsonValue } from '../keys/lookup';
import type { AlertEventType } from './schemas';

/** Rows of the webhook tables and what may leave them (presenters list every field that leaves). */

export interface WebhookRow {
  id: string;
  team_id: string | null;
  description: string | null;
  url: string;
  events: unknown;
  enabled: boolean;
  allow_private: boolean;
  secret_ciphertext: Buffer | Uint8Array;
  secret_nonce: Buffer | Uint8Array;
  secret_key_version: number;
  created_by: string | null;
  created_at: Date;
  updated_at: Date;
}

export interface DeliveryRow {
  id: number | string;
  webhook_id: string;
  event_id: string;
  event_type: string;
  body: string;
  status: 'pending' | 'delivering' | 'succeeded' | 'failed';
  attempts: number;
  next_attempt_at: Date | null;
  claimed_until: Date | null;
  last_status_code: number | null;
  last_error: string | null;
  created_at: Date;
  completed_at: Date | null;
}

export interface AttemptRow {
  id: number | string;
  delivery_id: number | string;
  attempt: number;
  status_code: number | null;
  error: string | null;
  duration_ms: number;
  next_retry_at: Date | null;
  created_at: Date;
}

/** The ciphertext is bound to the webhook's id: copied onto another row (or a wallet entry) it does not open. */
const binding = (id: string) => ({ id, service: 'webhook' });

export function sealSigningSecret(sealer: Sealer, id: string, secret: string) {
  const sealed = sealer.seal(secret, binding(id));
  return { secret_ciphertext: sealed.ciphertext, secret_nonce: sealed.nonce, secret_key_version: sealed.keyVersion };
}

export function openSigningSecret(sealer: Sealer, row: Pick<WebhookRow, 'id' | 'secret_ciphertext' | 'secret_nonce' | 'secret_key_version'>): string {
  return sealer.open({ ...binding(row.id), ciphertext: row.secret_ciphertext, nonce: row.secret_nonce, keyVersion: row.secret_key_version });
}

export const eventsOf = (row: Pick<WebhookRow, 'events'>): AlertEventType[] => jsonValue<AlertEventType[]>(row.events) ?? [];

export function presentWebhook(row: WebhookRow) {
  return {
    id: row.id,
    teamId: row.team_id,
    description: row.description,
    url: row.url,
    events: eventsOf(row),
    enabled: row.enabled,
    allowPrivate: row.allow_private,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

/**
 * For audit rows and logs: the URL's origin only. A webhook URL's path or query often is its own credential (a chat
 * tool's incoming-webhook URL), so it is shown to the admins who manage the webhook and kept out of everything else.
 */
export function urlOrigin(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return 'invalid';
  }
}

export function auditedWebhook(row: WebhookRow) {
  return { ...presentWebhook(row), url: urlOrigin(row.url) };
}

export function presentDelivery(row: DeliveryRow, attempts: AttemptRow[] = []) {
  return {
    id: String(row.id),
    eventId: row.event_id,
    eventType: row.event_type,
    status: row.status,
    attempts: row.attempts,
    nextAttemptAt: row.status === 'pending' ? row.next_attempt_at : null,
    lastStatusCode: row.last_status_code,
    lastError: row.last_error,
    createdAt: row.created_at,
    completedAt: row.completed_at,
    log: attempts.map((a) => ({
      attempt: a.attempt,
      statusCode: a.status_code,
      error: a.error,
      durationMs: a.duration_ms,
      nextRetryAt: a.next_retry_at,
      at: a.created_at,
    })),
  };
}

export async function findWebhook(db: Knex, id: string): Promise<WebhookRow | undefined> {
  return (await db<WebhookRow>('webhooks').where({ id }).first()) as WebhookRow | undefined;
}

/** One delivery row per webhook for an event (the unique (webhook_id, event_id) keeps a second insert out). */
export async function insertDeliveries(
  trx: Knex,
  webhookIds: string[],
  event: { id: string; type: string; body: string },
  now: Date,
  status: 'pending' | 'delivering' = 'pending',
  claimedUntil: Date | null = null,
): Promise<DeliveryRow[]> {
  if (webhookIds.length === 0) return [];
  const rows = webhookIds.map((webhookId) => ({
    webhook_id: webhookId,
    event_id: event.id,
    event_type: event.type,
    body: event.body,
    status,
    attempts: status === 'delivering' ? 1 : 0,
    next_attempt_at: now,
    claimed_until: claimedUntil,
    created_at: now,
  }));
  return (await trx('webhook_deliveries').insert(rows).onConflict(['webhook_id', 'event_id']).ignore().returning('*')) as DeliveryRow[];
}

/**
 * Re-seals every webhook signing secret not under the current master-key version (part of `keywallet wallet
 * rewrap`): after it reports nothing failed, older versions can be removed without breaking a webhook's signature.
 */
export async function rewrapSigningSecrets(db: Knex, sealer: Sealer, now: Date, audit: (trx: Knex.Transaction, counts: { rewrapped: number; failed: number }) => Promise<void>) {
  return db.transaction(async (trx) => {
    const rows = (await trx<WebhookRow>('webhooks').whereNot('secret_key_version', sealer.currentVersion).forUpdate().skipLocked()) as WebhookRow[];
    const result = { rewrapped: 0, failed: 0, failedIds: [] as string[] };
    for (const row of rows) {
      let secret: string;
      try {
        secret = openSigningSecret(sealer, row);
      } catch {
        result.failed++;
        result.failedIds.push(row.id);
        continue;
      }
      await trx('webhooks').where({ id: row.id }).update({ ...sealSigningSecret(sealer, row.id, secret), updated_at: now });
      result.rewrapped++;
    }
    if (rows.length) await audit(trx, { rewrapped: result.rewrapped, failed: result.failed });
    return result;
  });
}
