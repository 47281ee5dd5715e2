import type { RunningGateway } from '../main';
import { isMessage, MetricsJson, ToPrimary, ToWorker } from './protocol';

const SCRAPE_TIMEOUT_MS = 10_000;

function send(message: ToPrimary): void {
  if (process.connected) process.send!(message);
}

/**
 * A gateway worker of the cluster (src/cluster/primary.ts): answers the primary's metrics collection, sends GET
 * /metrics on to the primary (which aggregates every process), and drains on the primary's word, on SIGTERM /
 * SIGINT, or when the primary is gone (the IPC channel closed): stop accepting, finish in-flight requests, flush the
 * usage ledger, exit 0.
 */
export function runAsWorker(gw: RunningGateway): void {
  const { deps } = gw;
  const pending = new Map<number, { resolve(text: string): void; reject(err: Error): void; timer: NodeJS.Timeout }>();
  let nextId = 1;
  let exiting = false;
  const stop = (reason: string) => {
    if (exiting) return;
    exiting = true;
    gw.shutdown(reason).then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };

  deps.metrics.scrape = () =>
    new Promise<string>((resolve, reject) => {
      if (!process.connected) return reject(new Error('the cluster primary is gone'));
      const id = nextId++;
      const timer = setTimeout(() => {
        pending.delete(id);
        reject(new Error('the cluster primary did not answer with the metrics in time'));
      }, SCRAPE_TIMEOUT_MS);
      pending.set(id, { resolve, reject, timer });
      send({ kw: 'scrape', id });
    });

  process.on('message', (message: unknown) => {
    if (!isMessage(message)) return;
    const m = message as ToWorker;
    if (m.kw === 'collect') {
      deps.metrics.registry.getMetricsAsJSON().then(
        (metrics) => send({ kw: 'collected', id: m.id, metrics: metrics as unknown as MetricsJson }),
        (err: Error) => send({ kw: 'collected', id: m.id, error: err.message }),
      );
    } else if (m.kw === 'scraped') {
      const waiting = pending.get(m.id);
      if (!waiting) return;
      pending.delete(m.id);
      clearTimeout(waiting.timer);
      if (m.text !== undefined) waiting.resolve(m.text);
      else waiting.reject(new Error(m.error ?? 'metrics unavailable'));
    } else if (m.kw === 'shutdown') {
      stop(m.reason);
    }
  });
  for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => stop(signal));
  process.once('disconnect', () => stop('cluster primary gone'));
  send({ kw: 'ready', url: gw.url });
}
