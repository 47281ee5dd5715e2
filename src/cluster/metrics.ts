import { AggregatorRegistry, Counter, Gauge, Metric, Registry, collectDefaultMetrics } from 'prom-client';
import { eventLoopDelayMetric } from '../metrics/event-loop';
import type { MetricJson, MetricsJson } from './protocol';

/**
 * /metrics of a cluster (WORKERS > 1): the primary asks every worker for its registry as JSON, adds its own
 * (process and event-loop figures, the cluster's gauges) and aggregates them with prom-client's
 * AggregatorRegistry.aggregate: counters and histograms summed (the event-loop delay histogram too: the samples of
 * every process), gauges by the aggregator each declares (src/metrics/metrics.ts: 'sum' unless every worker watches
 * the same shared state). Two rules prom-client cannot express by metric name alone:
 * - the Redis stream is one for the whole cluster: its backlog and limit series (store="stream") take the highest
 *   reading, the spools (one per worker) are summed; the queue depth is the stream's plus every spool's;
 * - a worker that exits takes its counters with it, which would make the sums go down (a counter reset to
 *   Prometheus, and a spurious rate): its last collected counters and histograms are kept and added to every
 *   later scrape, so they stay monotonic (what it counted after that last scrape is lost).
 */

const SHARED_STREAM_SERIES = new Set(['keywallet_usage_backlog_events', 'keywallet_usage_backlog_limit_events']);
const QUEUE_DEPTH = 'keywallet_usage_queue_depth';
const BACKLOG = 'keywallet_usage_backlog_events';

export class ClusterMetrics {
  /** the primary's own registry: runtime metrics and the cluster's */
  readonly registry = new Registry();
  readonly workersUp: Gauge;
  readonly restarts: Counter<'reason'>;
  /** counters and histograms of workers gone, merged into one snapshot */
  private retired: MetricsJson = [];

  constructor() {
    collectDefaultMetrics({ register: this.registry });
    this.registry.registerMetric(eventLoopDelayMetric() as unknown as Metric);
    this.workersUp = new Gauge({ name: 'keywallet_cluster_workers', help: 'Gateway worker processes running and answering (WORKERS > 1).', registers: [this.registry] });
    this.restarts = new Counter({
      name: 'keywallet_cluster_worker_restarts_total',
      help: 'Gateway workers replaced after they exited unexpectedly, by how they ended (exit code or signal).',
      labelNames: ['reason'],
      registers: [this.registry],
    });
  }

  /** Keeps what a worker that exited had counted, as last collected. */
  retire(last: MetricsJson | undefined): void {
    if (!last) return;
    const monotonic = last.filter((m) => m.type === 'counter' || m.type === 'histogram');
    if (!monotonic.length) return;
    this.retired = toJson(AggregatorRegistry.aggregate([this.retired, monotonic]));
  }

  /** Aggregates the workers' snapshots with the primary's own: Prometheus text. */
  async render(workers: MetricsJson[]): Promise<string> {
    const own = (await this.registry.getMetricsAsJSON()) as unknown as MetricsJson;
    return AggregatorRegistry.aggregate(combine([own, this.retired, ...workers])).metrics();
  }
}

function toJson(registry: Registry): MetricsJson {
  // the metrics of an aggregated registry answer get() synchronously with their values
  return registry.getMetricsAsArray().map((m) => (m as unknown as { get(): MetricJson }).get());
}

/** Applies the two rules above, ahead of AggregatorRegistry.aggregate (which then sums, or takes min / max). */
export function combine(processes: MetricsJson[]): MetricsJson[] {
  const streamMax = new Map<string, MetricJson>();
  let spoolTotal = 0;
  let sawDepth = false;
  const out = processes.map((metrics) =>
    metrics.flatMap((m): MetricJson[] => {
      if (m.name === QUEUE_DEPTH) {
        sawDepth = true;
        return [];
      }
      if (!SHARED_STREAM_SERIES.has(m.name)) return [m];
      const values = m.values.filter((v) => {
        if (v.labels.store !== 'stream') {
          if (m.name === BACKLOG) spoolTotal += v.value;
          return true;
        }
        const seen = streamMax.get(m.name);
        if (!seen) streamMax.set(m.name, { ...m, values: [v] });
        else if (v.value > seen.values[0].value) seen.values = [v];
        return false;
      });
      return [{ ...m, values }];
    }),
  );
  const shared: MetricJson[] = [...streamMax.values()];
  if (sawDepth) {
    const stream = streamMax.get(BACKLOG)?.values[0]?.value ?? 0;
    shared.push({ name: QUEUE_DEPTH, help: 'Usage events waiting to be written.', type: 'gauge', aggregator: 'sum', values: [{ value: stream + spoolTotal, labels: {} }] });
  }
  return [...out, shared];
}
