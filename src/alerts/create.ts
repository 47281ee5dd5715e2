import type { Deps } from '../deps';
import { createSealer, parseMasterKeys } from '../wallet/crypto';
import { WebhookDeliverer } from '../webhooks/deliverer';
import { AlertService } from './service';

const LEASE_MARGIN_MS = 30_000;
const RETRY_MAX_MS = 3_600_000;

/**
 * The alert service and the webhook deliverer of one node. A gateway's deliverer starts at once: deliveries left
 * pending by a restart (or by a node that is gone) are picked up; a CLI command sends only what it fires itself. Closed before the database: the queue is flushed, deliveries
 * in flight finish and are recorded.
 */
export function createAlerts(
  deps: Pick<Deps, 'config' | 'db' | 'clock' | 'logger' | 'metrics' | 'closers'>,
  opts: { deliver: boolean },
): { alerts: AlertService; deliverer: WebhookDeliverer } {
  const a = deps.config.alerts;
  const sealer = createSealer(parseMasterKeys(deps.config.masterKeys));
  const deliverer = new WebhookDeliverer(
    { db: deps.db, clock: deps.clock, logger: deps.logger, metrics: deps.metrics, sealer },
    {
      timeoutMs: a.webhookTimeoutMs,
      maxAttempts: a.webhookMaxAttempts,
      retryBaseMs: a.webhookRetryBaseMs,
      retryMaxMs: Math.max(a.webhookRetryBaseMs, RETRY_MAX_MS),
      pollMs: a.webhookPollMs,
      leaseMs: a.webhookTimeoutMs + LEASE_MARGIN_MS,
      batchSize: 20,
    },
  );
  const alerts = new AlertService({ db: deps.db, clock: deps.clock, logger: deps.logger, metrics: deps.metrics, deliverer, thresholds: a.thresholds });
  if (opts.deliver) deliverer.start();
  deps.closers.push(() => deliverer.stop(), () => alerts.close()); // closed in reverse: the queue first, then deliveries
  return { alerts, deliverer };
}
