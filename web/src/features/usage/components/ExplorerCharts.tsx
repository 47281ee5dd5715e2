import { useMemo } from 'react';
import { Chart } from '../../../components/Chart';
import { chartData, METRICS, type UsageSeries } from '../../../lib/usage-series';

/** Requests and spend per group over the range (the top five groups, the rest as "other"). */
export function ExplorerCharts({ series, groupLabel }: { series: UsageSeries[]; groupLabel: string }) {
  const requests = useMemo(() => chartData(series, METRICS.requests), [series]);
  const spend = useMemo(() => chartData(series, METRICS.spend), [series]);
  return (
    <div className="chart-grid">
      <Chart title={`Requests by ${groupLabel.toLowerCase()}`} yLabel={METRICS.requests.yLabel} formatY={METRICS.requests.format} {...requests} />
      <Chart title={`Spend by ${groupLabel.toLowerCase()}`} yLabel={METRICS.spend.yLabel} formatY={METRICS.spend.format} formatAxis={METRICS.spend.axis} {...spend} />
    </div>
  );
}
