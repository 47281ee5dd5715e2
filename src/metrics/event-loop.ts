import { monitorEventLoopDelay, IntervalHistogram } from 'node:perf_hooks';

/**
 * Event-loop delay as a Prometheus histogram, sampled every millisecond.
 *
 * prom-client's default `nodejs_eventloop_lag_*` gauges sample every 10 ms, and Node's monitor reports the whole
 * interval between two samples, so they read ~10–12 ms whether the loop is idle or stalled for 2 ms: useless for
 * a gateway whose requests take a millisecond. Here Node's monitor runs at 1 ms (a timer in libuv, no JavaScript
 * per sample), the resolution is subtracted from each reading, and the samples are folded into cumulative
 * Prometheus buckets from 1 ms up when /metrics is scraped, so `histogram_quantile` and alerts see real stalls.
 *
 * The event loop is one per process: one monitor serves every registry in the process (tests build many apps).
 */

export const EVENT_LOOP_DELAY_METRIC = 'keywallet_event_loop_delay_seconds';
const RESOLUTION_MS = 1;
/** Upper bounds in seconds: from one millisecond (a healthy loop) up to multi-second stalls. */
export const EVENT_LOOP_BUCKETS = [0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

interface Totals {
  /** cumulative count of samples ≤ EVENT_LOOP_BUCKETS[i] */
  buckets: number[];
  count: number;
  sum: number;
}

let monitor: IntervalHistogram | null = null;
const totals: Totals = { buckets: EVENT_LOOP_BUCKETS.map(() => 0), count: 0, sum: 0 };

function startMonitor(): IntervalHistogram {
  if (!monitor) {
    monitor = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
    monitor.enable();
  }
  return monitor;
}

/**
 * Folds what the monitor recorded since the last call into `totals`, then resets it. Node keeps an HDR
 * histogram and exposes it as percentile → value breakpoints; each step between two breakpoints holds
 * (Δpercentile × count) samples no larger than the step's value, which is exact to the HDR precision.
 */
export function foldEventLoopSamples(h: Pick<IntervalHistogram, 'count' | 'percentiles'>, into: Totals = totals): void {
  const count = Number(h.count);
  if (!count) return;
  const resolutionNs = RESOLUTION_MS * 1e6;
  let previousPercentile = 0;
  let folded = 0;
  const steps = [...h.percentiles.entries()].sort((a, b) => a[0] - b[0]);
  steps.forEach(([percentile, valueNs], index) => {
    const last = index === steps.length - 1;
    const samples = last ? count - folded : Math.round(((percentile - previousPercentile) / 100) * count);
    previousPercentile = percentile;
    if (samples <= 0) return;
    folded += samples;
    const seconds = Math.max(0, Number(valueNs) - resolutionNs) / 1e9;
    into.sum += seconds * samples;
    for (let i = 0; i < EVENT_LOOP_BUCKETS.length; i++) if (seconds <= EVENT_LOOP_BUCKETS[i]) into.buckets[i] += samples;
  });
  into.count += count;
}

function drain(): Totals {
  const h = startMonitor();
  foldEventLoopSamples(h);
  h.reset();
  return totals;
}

/** A prom-client compatible metric (what Registry.registerMetric takes); the buckets are read on each scrape. */
export function eventLoopDelayMetric() {
  startMonitor();
  const name = EVENT_LOOP_DELAY_METRIC;
  const help = 'Event-loop delay beyond the 1 ms sampling interval, in seconds (one sample per millisecond).';
  const snapshot = () => {
    const t = drain();
    return {
      name,
      help,
      type: 'histogram' as const,
      aggregator: 'sum' as const,
      values: [
        ...EVENT_LOOP_BUCKETS.map((le, i) => ({ labels: { le }, value: t.buckets[i], metricName: `${name}_bucket` })),
        { labels: { le: '+Inf' }, value: t.count, metricName: `${name}_bucket` },
        { labels: {}, value: t.sum, metricName: `${name}_sum` },
        { labels: {}, value: t.count, metricName: `${name}_count` },
      ],
    };
  };
  return {
    name,
    help,
    type: 'histogram',
    labelNames: [] as string[],
    get: async () => snapshot(),
    reset: () => {},
  };
}
