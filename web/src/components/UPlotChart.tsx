import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import type { ChartProps } from './Chart';
import { chartOptions } from './chart-options';
import { mark } from '../lib/perf';

export default function UPlotChart(props: ChartProps) {
  const { title, x, ys, series, yLabel, formatY, formatAxis, height = 240 } = props;
  const el = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const node = el.current;
    if (!node) return;
    const plot = new uPlot(chartOptions({ title, x, ys, series, yLabel, formatY, formatAxis, height }, Math.max(320, node.clientWidth)), [x, ...ys] as uPlot.AlignedData, node);
    // for measuring (the browser tests read it): when this chart was drawn, and over how many values
    mark('kw-chart-drawn', { title, values: x.length * ys.length });
    const resize = () => plot.setSize({ width: Math.max(320, node.clientWidth), height });
    window.addEventListener('resize', resize);
    return () => {
      window.removeEventListener('resize', resize);
      plot.destroy();
    };
  }, [title, x, ys, series, yLabel, formatY, formatAxis, height]);
  return <div ref={el} role="img" aria-label={title} />;
}
