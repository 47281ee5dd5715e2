import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import type { ChartProps } from './Chart';

const PALETTE = ['#2563eb', '#dc2626', '#16a34a', '#9333ea', '#ea580c', '#0891b2'];

export default function UPlotChart({ title, x, ys, series, yLabel, formatY, height = 240 }: ChartProps) {
  const el = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const node = el.current;
    if (!node) return;
    const fmt = (v: number | null) => (v === null || v === undefined ? '—' : formatY ? formatY(v) : String(v));
    const plot = new uPlot(
      {
        title: undefined,
        width: Math.max(320, node.clientWidth),
        height,
        series: [
          { label: 'Time' },
          ...series.map((s, i) => ({ label: s.label, stroke: s.stroke ?? PALETTE[i % PALETTE.length], width: 2, value: (_u: uPlot, v: number | null) => fmt(v) })),
        ],
        axes: [
          { label: 'Time (your time zone)' },
          { label: yLabel, size: 70, values: (_u: uPlot, splits: number[]) => splits.map((v) => fmt(v)) },
        ],
      },
      [x, ...ys] as uPlot.AlignedData,
      node,
    );
    const resize = () => plot.setSize({ width: Math.max(320, node.clientWidth), height });
    window.addEventListener('resize', resize);
    return () => {
      window.removeEventListener('resize', resize);
      plot.destroy();
    };
  }, [x, ys, series, yLabel, formatY, height]);
  return <div ref={el} role="img" aria-label={title} />;
}
