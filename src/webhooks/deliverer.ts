import type { Knex } from 'knex';
import type { Clock } from '../clock';
import type { Logger } from '../logger';
import type { Metrics } from '../metrics/metrics';
import type { Sealer } from '../wallet/crypto';
import { WebhookSender, type SendOutcome } from './sender';
import { signatureHeader } from './signing';
import { DeliveryRow, findWebhook, openSigningSecret, urlOrigin } from './store';

export interface DeliveryOptions {
  timeoutMs: number;
  maxAttempts: number;
  retryBaseMs: number;
  retryMaxMs: number;
  /** how often a node looks for due deliveries it was not told about (another node's retries, a restart) */
  pollMs: number;
  /** how long a claim holds: a node that dies mid-delivery leaves the row to another node after this */
  leaseMs: number;
  batchSize: number;
}

export interface DelivererDeps {
  db: Knex;
  clock: Clock;
  logger: Logger;
  metrics: Metrics;
  sealer: Sealer;
}

const USER_AGENT = 'Keywallet-Webhooks/1';
/** finished deliveries (and their attempts) are kept this long in the delivery log */
export const DELIVERY_LOG_RETENTION_MS = 30 * 86_400_000;
const PRUNE_EVERY_MS = 3_600_000;

/** The delay before attempt `attempt + 1`: exponential from retryBaseMs, capped, with ±20 % jitter. */
export function retryDelayMs(attempt: number, opts: Pick<DeliveryOptions, 'retryBaseMs' | 'retryMaxMs'>, random = Math.random): number {
  const exp = Math.min(opts.retryMaxMs, opts.retryBaseMs * 2 ** Math.min(30, Math.max(0, attempt - 1)));
  return Math.round(exp * (0.8 + 0.4 * random()));
}

/**
 * Sends pending webhook deliveries. Every node runs one; a delivery row is claimed (`FOR UPDATE SKIP LOCKED`, with
 * a lease) by exactly one node at a time, so no event is sent twice at once across nodes. Pending retries live in the
 * table: a restart, or another node, picks them up. At-least-once: a node dying after the receiver answered but
 * before it recorded the answer leaves the row to be sent again after the lease; receivers dedupe on the event id.
 */
export class WebhookDeliverer {
  private readonly sender = new WebhookSender();
  private poll?: NodeJS.Timeout;
  private soon?: NodeJS.Timeout;
  /** when this node's own scheduled retries fall due (bounded: only those within one poll period) */
  private planned: number[] = [];
  private prunedAt = 0;
  private running: Promise<void> | null = null;
  private again = false;
  private stopped = false;

  constructor(private readonly deps: DelivererDeps, readonly opts: DeliveryOptions) {}

  start(): void {
    this.poll = setInterval(() => {
      this.kick();
      void this.pruneNow();
    }, this.opts.pollMs);
    this.poll.unref();
    this.kick();
  }

  /** Look for due deliveries now (coalesced: one run at a time, one more if kicked meanwhile). */
  kick(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.runUntilIdle().finally(() => {
      this.running = null;
    });
  }

  /** Kick at `atMs` (a retry this node scheduled); the poll covers what lies further out than one poll period. */
  private kickAt(atMs: number): void {
    if (this.stopped || atMs - this.deps.clock.now() >= this.opts.pollMs || this.planned.length >= 1000) return;
    this.planned.push(atMs);
    this.planNext();
  }

  /** One timer, for the earliest planned kick; when it fires, the next one is planned. */
  private planNext(): void {
    if (this.soon) clearTimeout(this.soon);
    this.soon = undefined;
    if (this.stopped || this.planned.length === 0) return;
    const next = Math.min(...this.planned);
    this.soon = setTimeout(() => {
      const now = this.deps.clock.now();
      this.planned = this.planned.filter((t) => t > now);
      this.kick();
      this.planNext();
    }, Math.max(0, next - this.deps.clock.now()) + 5);
    this.soon.unref();
  }

  private async runUntilIdle(): Promise<void> {
    do {
      this.again = false;
      try {
        while (!this.stopped) {
          const claimed = await this.claimDue();
          if (claimed.length === 0) break;
          await Promise.all(claimed.map((row) => this.attempt(row)));
        }
      } catch (err) {
        this.deps.logger.warn({ reason: (err as Error)?.message }, 'webhooks: could not claim due deliveries; retrying at the next poll');
      }
    } while (this.again && !this.stopped);
  }

  /** Deletes finished deliveries older than the retention (their attempts go with them), at most once an hour. */
  async pruneNow(force = false): Promise<number> {
    const nowMs = this.deps.clock.now();
    if (!force && nowMs - this.prunedAt < PRUNE_EVERY_MS) return 0;
    this.prunedAt = nowMs;
    try {
      const deleted: unknown = await this.deps.db('webhook_deliveries')
        .whereIn('status', ['succeeded', 'failed'])
        .where('completed_at', '<', new Date(nowMs - DELIVERY_LOG_RETENTION_MS))
        .delete();
      // pg answers a count, the embedded driver its raw result
      return typeof deleted === 'number' ? deleted : Number((deleted as { rowCount?: number })?.rowCount ?? 0);
    } catch (err) {
      this.deps.logger.warn({ reason: (err as Error)?.message }, 'webhooks: could not prune the delivery log');
      return 0;
    }
  }

  /** Claims due rows (pending and due, or delivering with an expired lease) for this node, counting the attempt. */
  private async claimDue(): Promise<DeliveryRow[]> {
    const now = new Date(this.deps.clock.now());
    const until = new Date(now.getTime() + this.opts.leaseMs);
    const result = await this.deps.db.raw(
      `update webhook_deliveries set status = 'delivering', claimed_until = ?, attempts = attempts + 1
        where id in (
          select id from webhook_deliveries
           where (status = 'pending' and next_attempt_at <= ?) or (status = 'delivering' and claimed_until < ?)
           order by next_attempt_at
           limit ?
           for update skip locked)
        returning *`,
      [until, now, now, this.opts.batchSize],
    );
    return (result.rows ?? []) as DeliveryRow[];
  }

  /** Sends one claimed delivery and records the attempt; never throws. */
  async attempt(row: DeliveryRow): Promise<void> {
    const started = performance.now();
    let outcome: SendOutcome;
    try {
      outcome = await this.send(row);
    } catch (err) {
      this.deps.logger.error({ err, deliveryId: String(row.id), webhookId: row.webhook_id }, 'webhooks: unexpected error while sending');
      outcome = { kind: 'retry', error: 'internal error' };
    }
    const durationMs = Math.round(performance.now() - started);
    try {
      await this.record(row, outcome, durationMs);
    } catch (err) {
      this.deps.logger.warn({ reason: (err as Error)?.message, deliveryId: String(row.id) }, 'webhooks: could not record a delivery attempt; the lease will expire and it is retried');
    }
  }

  private async send(row: DeliveryRow): Promise<SendOutcome> {
    const webhook = await findWebhook(this.deps.db, row.webhook_id);
    if (!webhook) return { kind: 'failed', error: 'webhook deleted' };
    if (!webhook.enabled && row.event_type !== 'webhook.test') return { kind: 'failed', error: 'webhook disabled' };
    let secret: string;
    try {
      secret = openSigningSecret(this.deps.sealer, webhook);
    } catch (err) {
      this.deps.logger.error({ webhookId: webhook.id, reason: (err as { reason?: string }).reason }, 'webhooks: the signing secret could not be opened');
      return { kind: 'failed', error: 'signing secret unreadable (master key missing?)' };
    }
    const timestamp = Math.floor(this.deps.clock.now() / 1000);
    return this.sender.send({
      url: webhook.url,
      allowPrivate: webhook.allow_private,
      body: row.body,
      timeoutMs: this.opts.timeoutMs,
      headers: {
        'content-type': 'application/json',
        'user-agent': USER_AGENT,
        'x-keywallet-event': row.event_type,
        'x-keywallet-event-id': row.event_id,
        'x-keywallet-delivery-attempt': String(row.attempts),
        'x-keywallet-signature': signatureHeader(secret, timestamp, row.body),
      },
    });
  }

  private async record(row: DeliveryRow, outcome: SendOutcome, durationMs: number): Promise<void> {
    const nowMs = this.deps.clock.now();
    const now = new Date(nowMs);
    const giveUp = outcome.kind === 'retry' && row.attempts >= this.opts.maxAttempts;
    const status = outcome.kind === 'delivered' ? 'succeeded' : outcome.kind === 'failed' || giveUp ? 'failed' : 'pending';
    const nextMs =
      status === 'pending'
        ? nowMs + Math.max(retryDelayMs(row.attempts, this.opts), Math.min((outcome as { retryAfterMs?: number }).retryAfterMs ?? 0, this.opts.retryMaxMs))
        : null;
    const next = nextMs === null ? null : new Date(nextMs);
    const code = 'status' in outcome ? outcome.status ?? null : null;
    const error = outcome.kind === 'delivered' ? null : giveUp ? `${outcome.error}; gave up after ${row.attempts} attempts` : outcome.error;
    await this.deps.db.transaction(async (trx) => {
      await trx('webhook_delivery_attempts').insert({
        delivery_id: row.id,
        webhook_id: row.webhook_id,
        event_id: row.event_id,
        attempt: row.attempts,
        status_code: code,
        error,
        duration_ms: durationMs,
        next_retry_at: next,
        created_at: now,
      });
      await trx('webhook_deliveries').where({ id: row.id, status: 'delivering' }).update({
        status,
        next_attempt_at: next ?? row.next_attempt_at,
        claimed_until: null,
        last_status_code: code,
        last_error: error,
        completed_at: status === 'pending' ? null : now,
      });
    });
    const metric = status === 'succeeded' ? 'succeeded' : status === 'failed' ? 'failed' : 'retry';
    this.deps.metrics.webhookDeliveries.labels(metric).inc();
    const line = { deliveryId: String(row.id), webhookId: row.webhook_id, eventId: row.event_id, attempt: row.attempts, statusCode: code, error, host: undefined as string | undefined };
    if (status === 'failed') {
      const webhook = await findWebhook(this.deps.db, row.webhook_id).catch(() => undefined);
      line.host = webhook ? urlOrigin(webhook.url) : undefined;
      this.deps.logger.warn(line, 'webhook delivery failed for good');
    } else if (status === 'pending') {
      this.deps.logger.info(line, 'webhook delivery will be retried');
      this.kickAt(nextMs!);
    }
  }

  /** Stops claiming; waits for the deliveries in flight (their rows are recorded) and closes the connections. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.poll) clearInterval(this.poll);
    if (this.soon) clearTimeout(this.soon);
    await this.running?.catch(() => undefined);
    await this.sender.close();
  }
}
