import type { paths } from './api/schema';
import type { ChartProps } from '../components/Chart';
import type { TimePreset } from './time-range';
import { formatMicroDollars, formatMicroDollarsAxis, formatNumber } from './format';

/** The analytics API's time series, typed from /openapi.json, and how the console charts them. */
export type TimeseriesQuery = NonNullable<paths['/analytics/timeseries']['get']['parameters']['query']>;
export type TimeseriesResponse = paths['/analytics/timeseries']['get']['responses'][200]['content']['application/json'];
export type UsageSeries = TimeseriesResponse['series'][number];
export type UsagePoint = UsageSeries['points'][number];

const DAY_MS = 86_400_000;
const utcDay = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/**
 * The range of a preset as query parameters, worked out when a query runs (not when the preset was picked), so an
 * auto refresh moves the window along: the last 24 hours and 7 days hour by hour, longer ranges day by day (whole
 * UTC days up to today).
 */
export function presetRange(preset: TimePreset, nowMs = Date.now()): { from?: string; bucket: 'hour' | 'day' } {
  switch (preset) {
    case '24h':
      return { bucket: 'hour' };
    case '7d':
      return { bucket: 'hour', from: new Date(nowMs - 7 * DAY_MS).toISOString() };
    case '30d':
      return { bucket: 'day', from: utcDay(nowMs - 29 * DAY_MS) };
    case '90d':
      return { bucket: 'day', from: utcDay(nowMs - 89 * DAY_MS) };
  }
}

export interface Metric {
  /** the y axis label, with its unit */
  yLabel: string;
  value(p: UsagePoint): number | null;
  format(v: number): string;
  /** the axis ticks' format, when shorter than format */
  axis?(v: number): string;
}

export const METRICS = {
  requests: { yLabel: 'Requests (per bucket)', value: (p) => p.requests, format: (v) => (Number.isInteger(v) ? formatNumber(v) : v.toFixed(1)) },
  spend: { yLabel: 'Spend (USD per bucket)', value: (p) => p.costMicros, format: (v) => formatMicroDollars(v), axis: (v) => formatMicroDollarsAxis(v) },
  errorRate: {
    yLabel: 'Error rate (% of requests)',
    value: (p) => (p.requests ? (100 * p.errors) / p.requests : null),
    format: (v) => `${v.toFixed(1)} %`,
  },
  latency: { yLabel: 'Average latency (ms)', value: (p) => (p.requests ? p.avgLatencyMs : null), format: (v) => `${formatNumber(v)} ms` },
  addedLatency: {
    yLabel: 'Gateway-added latency (ms)',
    value: (p) => (p.requests && p.avgAddedLatencyMs !== undefined ? p.avgAddedLatencyMs : null),
    format: (v) => `${formatNumber(v)} ms`,
  },
} satisfies Record<string, Metric>;

/** One chart's data: the x axis (unix seconds) shared by every series, one y array per series. */
export function chartData(series: UsageSeries[], metric: Metric): Pick<ChartProps, 'x' | 'ys' | 'series'> {
  const x = (series[0]?.points ?? []).map((p) => Date.parse(p.t) / 1000);
  return {
    x,
    ys: series.map((s) => s.points.map((p) => metric.value(p))),
    series: series.map((s) => ({ label: s.label })),
  };
}
