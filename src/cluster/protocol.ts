/** The messages between the cluster primary and its workers (node:cluster IPC, JSON). */

/** One metric as prom-client's Registry.getMetricsAsJSON gives it (its own type is not exported). */
export interface MetricJson {
  name: string;
  help: string;
  type: string;
  aggregator?: string;
  values: { value: number; labels: Record<string, string | number>; metricName?: string }[];
}
export type MetricsJson = MetricJson[];

export type ToWorker =
  /** send this process's metrics (Registry.getMetricsAsJSON) */
  | { kw: 'collect'; id: number }
  /** the answer to a worker's `scrape`: every process's metrics, aggregated, as Prometheus text */
  | { kw: 'scraped'; id: number; text?: string; error?: string }
  /** drain: stop accepting, finish in-flight requests, flush the usage ledger, exit 0 */
  | { kw: 'shutdown'; reason: string };

export type ToPrimary =
  /** started: listening, dependencies up */
  | { kw: 'ready'; url: string }
  | { kw: 'collected'; id: number; metrics?: MetricsJson; error?: string }
  /** GET /metrics reached this worker: it asks the primary for the cluster's aggregate */
  | { kw: 'scrape'; id: number };

export const isMessage = (m: unknown): m is { kw: string } => typeof m === 'object' && m !== null && typeof (m as { kw?: unknown }).kw === 'string';
