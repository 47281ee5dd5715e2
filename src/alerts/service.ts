import crypto from 'node:crypto';
import type { Knex } from 'knex';
import { recordAudit } from '../audit/audit';
import type { Clock } from '../clock';
import type { Logger } from '../logger';
import type { Metrics } from '../metrics/metrics';
import type { WebhookDeliverer } from '../webhooks/deliverer';
import type { AlertEventType } from '../webhooks/schemas';
import { TEAM_EVENTS } from '../webhooks/schemas';
import { eventsOf, insertDeliveries, WebhookRow } from '../webhooks/store';
import { percentOf, thresholdsReached } from './thresholds';
import type { BudgetObserver, BudgetUsageSample } from './types';
import type { WalletEvent, WalletEventObserver } from './wallet-events';

/** One alert waiting to be fired: the unique key decides whether it already fired this period on any node. */
export interface PendingAlert {
  kind: AlertEventType;
  scope: string;
  scopeId: string;
  period: string;
  threshold: number;
  teamId: string | null;
  data: Record<string, unknown>;
}

export interface AlertServiceDeps {
  db: Knex;
  clock: Clock;
  logger: Logger;
  metrics: Metrics;
  deliverer: WebhookDeliverer;
  /** default thresholds (percent) for budgets that report none of their own */
  thresholds: readonly number[];
}

const MAX_QUEUED = 10_000;
const MAX_REMEMBERED = 100_000;
const RETRY_MS = 5_000;

const keyOf = (a: Pick<PendingAlert, 'kind' | 'scope' | 'scopeId' | 'period' | 'threshold'>) =>
  `${a.kind}\u0000${a.scope}\u0000${a.scopeId}\u0000${a.period}\u0000${a.threshold}`;

/**
 * Budget alerts and wallet events (issue 17). `observe` and `walletEvent` run on the request path: they only decide
 * which thresholds a sample reaches and queue what this node has not handled yet. A background drain fires each
 * alert: `INSERT … ON CONFLICT DO NOTHING` on (kind, scope, scope id, period, threshold), so it fires once per period
 * across every node; only the node whose insert landed writes the audit row and the webhook deliveries (same
 * transaction), counts the metric and wakes the deliverer. An alert that could not be written (database away) stays
 * queued and is tried again: the 100 % sample may be the last one a budget ever reports.
 */
export class AlertService implements BudgetObserver, WalletEventObserver {
  private readonly queue = new Map<string, PendingAlert>();
  /** alerts this node knows are written (by it or another node): the request path skips them without a query */
  private readonly handled = new Set<string>();
  private draining: Promise<void> | null = null;
  private retryTimer?: NodeJS.Timeout;
  private closed = false;

  constructor(private readonly deps: AlertServiceDeps) {}

  observe(samples: readonly BudgetUsageSample[]): void {
    try {
      for (const s of samples) {
        for (const threshold of thresholdsReached(s, s.thresholds ?? this.deps.thresholds)) {
          this.enqueue({
            kind: 'budget.threshold',
            scope: s.scope,
            scopeId: s.scopeId,
            period: s.period,
            threshold,
            teamId: s.teamId ?? null,
            data: {
              scope: s.scope,
              scopeId: s.scopeId,
              teamId: s.teamId ?? null,
              period: s.period,
              threshold,
              percent: percentOf(s.spentMicros, s.budgetMicros),
              spentUsd: s.spentMicros / 1_000_000,
              budgetUsd: s.budgetMicros / 1_000_000,
            },
          });
        }
      }
    } catch (err) {
      this.deps.logger.warn({ reason: (err as Error)?.message }, 'alerts: could not take a budget sample');
    }
  }

  walletEvent(e: WalletEvent): void {
    try {
      this.enqueue({ kind: e.kind, scope: 'wallet_entry', scopeId: e.entryId, period: e.period, threshold: e.threshold, teamId: null, data: e.data });
    } catch (err) {
      this.deps.logger.warn({ reason: (err as Error)?.message }, 'alerts: could not take a wallet event');
    }
  }

  private enqueue(alert: PendingAlert): void {
    if (this.closed) return;
    const key = keyOf(alert);
    if (this.handled.has(key) || this.queue.has(key)) return;
    if (this.queue.size >= MAX_QUEUED) {
      this.deps.metrics.alertsDropped.inc();
      return;
    }
    this.queue.set(key, alert);
    this.drainSoon();
  }

  private drainSoon(): void {
    if (this.draining || this.closed) return;
    this.draining = new Promise<void>((resolve) => setImmediate(resolve)).then(() => this.drain()).finally(() => {
      this.draining = null;
      // queued after the loop ended but before this ran; a failed write waits for its retry timer instead
      if (this.queue.size > 0 && !this.retryTimer) this.drainSoon();
    });
  }

  /** Fires what is queued, in order; on a database error the rest stays queued and a retry is scheduled. */
  private async drain(): Promise<void> {
    for (const [key, alert] of this.queue) {
      try {
        await this.fire(alert);
      } catch (err) {
        this.deps.logger.warn({ reason: (err as Error)?.message, kind: alert.kind, scope: alert.scope }, 'alerts: could not record an alert; retrying shortly');
        this.scheduleRetry();
        return;
      }
      this.queue.delete(key);
      this.remember(key);
    }
  }

  private scheduleRetry(): void {
    if (this.retryTimer || this.closed) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.drainSoon();
    }, RETRY_MS);
    this.retryTimer.unref();
  }

  private remember(key: string): void {
    if (this.handled.size >= MAX_REMEMBERED) this.handled.clear();
    this.handled.add(key);
  }

  /** Writes the alert if it is the first of its kind this period; true when this call fired it. */
  async fire(alert: PendingAlert): Promise<boolean> {
    const nowMs = this.deps.clock.now();
    const now = new Date(nowMs);
    const id = crypto.randomUUID();
    const fired = await this.deps.db.transaction(async (trx) => {
      const inserted = await trx('alerts')
        .insert({ id, kind: alert.kind, scope: alert.scope, scope_id: alert.scopeId, period: alert.period, threshold: alert.threshold, team_id: alert.teamId, data: JSON.stringify(alert.data), created_at: now })
        .onConflict(['kind', 'scope', 'scope_id', 'period', 'threshold'])
        .ignore()
        .returning('id');
      if (inserted.length === 0) return null;
      const body = JSON.stringify({ id, type: alert.kind, createdAt: now.toISOString(), data: alert.data });
      const webhooks = await this.subscribers(trx, alert);
      const deliveries = await insertDeliveries(trx, webhooks, { id, type: alert.kind, body }, now);
      await recordAudit(trx, { type: 'system' }, { action: 'alert.fired', targetType: 'alert', targetId: id, after: { type: alert.kind, ...alert.data, webhooks: deliveries.length } }, now);
      return { deliveries: deliveries.length };
    });
    if (!fired) return false;
    this.deps.metrics.alertsFired.labels(alert.kind, alert.scope, String(alert.threshold)).inc();
    this.deps.logger.info({ alert: alert.kind, alertId: id, scope: alert.scope, period: alert.period, threshold: alert.threshold, webhooks: fired.deliveries }, 'alert fired');
    if (fired.deliveries) this.deps.deliverer.kick();
    return true;
  }

  /** Enabled webhooks subscribed to the event: org-wide ones, and for a team's budget alert that team's too. */
  private async subscribers(trx: Knex, alert: PendingAlert): Promise<string[]> {
    const q = trx<WebhookRow>('webhooks').where({ enabled: true }).select('id', 'team_id', 'events');
    if (alert.teamId && TEAM_EVENTS.includes(alert.kind)) q.where((w) => w.whereNull('team_id').orWhere('team_id', alert.teamId));
    else q.whereNull('team_id');
    const rows = (await q) as Pick<WebhookRow, 'id' | 'team_id' | 'events'>[];
    return rows.filter((w) => eventsOf(w).includes(alert.kind)).map((w) => w.id);
  }

  /** Waits for what is queued to be written (tests, shutdown); gives up after `timeoutMs`. */
  async flush(timeoutMs = 5_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while ((this.queue.size > 0 || this.draining) && Date.now() < deadline) {
      if (!this.draining) this.drainSoon();
      await Promise.race([this.draining, new Promise((r) => setTimeout(r, 50))]);
    }
  }

  async close(): Promise<void> {
    await this.flush();
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
  }
}
