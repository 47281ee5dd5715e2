import { useMemo } from 'react';
import { Chart } from '../../../components/Chart';
import { chartData, METRICS, type Metric, type UsageSeries } from '../../../lib/usage-series';

type MetricName = keyof typeof METRICS;

function MetricChart({ title, series, metric }: { title: string; series: UsageSeries[]; metric: MetricName }) {
  const m: Metric = METRICS[metric];
  const data = useMemo(() => chartData(series, m), [series, m]);
  return <Chart title={title} yLabel={m.yLabel} formatY={m.format} formatAxis={m.axis} {...data} />;
}

/** Latency the clients saw and, where the hourly rollups hold it, the part the gateway added: two lines, one axis. */
function LatencyChart({ title, series }: { title: string; series: UsageSeries[] }) {
  const data = useMemo(() => {
    const total = chartData(series, METRICS.latency);
    const points = series[0]?.points ?? [];
    if (!points.some((p) => p.avgAddedLatencyMs !== undefined)) return total;
    const added = chartData(series, METRICS.addedLatency);
    return { x: total.x, ys: [...total.ys, ...added.ys], series: [{ label: 'total' }, { label: 'added by the gateway' }] };
  }, [series]);
  return <Chart title={title} yLabel={METRICS.latency.yLabel} formatY={METRICS.latency.format} {...data} />;
}

/** Requests, spend, error rate and latency over one shared time range, one chart each (one series: everything). */
export function UsageCharts({ series, rangeLabel }: { series: UsageSeries[]; rangeLabel: string }) {
  return (
    <div className="chart-grid">
      <MetricChart title={`Requests, ${rangeLabel}`} series={series} metric="requests" />
      <MetricChart title={`Spend, ${rangeLabel}`} series={series} metric="spend" />
      <MetricChart title={`Error rate, ${rangeLabel}`} series={series} metric="errorRate" />
      <LatencyChart title={`Latency, ${rangeLabel}`} series={series} />
    </div>
  );
}
