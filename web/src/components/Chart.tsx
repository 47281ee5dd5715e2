import { lazy, Suspense } from 'react';

export interface ChartSeries {
  label: string;
  /** the colour of the line (CSS colour) */
  stroke?: string;
}

export interface ChartProps {
  /** what the chart shows, for screen readers and as its caption */
  title: string;
  /** x values: unix seconds */
  x: number[];
  /** one array of y values per series, aligned with x */
  ys: (number | null)[][];
  series: ChartSeries[];
  /** the y axis label, with its unit (e.g. "Requests", "Cost (USD)") */
  yLabel: string;
  /** formats a y value for the axis and the legend (e.g. money through lib/format) */
  formatY?: (value: number) => string;
  /** formats a y value for the axis ticks only (shorter than the legend's, e.g. $0.25 rather than $0.250000); formatY when absent */
  formatAxis?: (value: number) => string;
  height?: number;
}

/**
 * A time-series chart. uPlot (~50 KB) is loaded only when a chart is first shown, so it stays out of the
 * initial bundle. Every axis is labelled with its unit; the x axis is time in the user's time zone.
 */
const UPlotChart = lazy(() => import('./UPlotChart'));

export function Chart(props: ChartProps) {
  return (
    <figure className="chart">
      <figcaption>{props.title}</figcaption>
      <Suspense fallback={<div className="chart-placeholder" role="status">Loading chart…</div>}>
        <UPlotChart {...props} />
      </Suspense>
    </figure>
  );
}
