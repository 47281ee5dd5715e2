import type uPlot from 'uplot';
import type { ChartProps } from './Chart';

export const PALETTE = ['#2563eb', '#dc2626', '#16a34a', '#9333ea', '#ea580c', '#0891b2'];
const FONT = '12px system-ui, sans-serif';
const LABEL_FONT = 'bold 12px system-ui, sans-serif';

/** Indices of values with no non-null neighbour: a line through them has no length, so only a point shows them. */
export function isolatedPoints(ys: readonly (number | null)[]): number[] {
  const out: number[] = [];
  for (let i = 0; i < ys.length; i++) {
    if (ys[i] === null || ys[i] === undefined) continue;
    const before = i > 0 && ys[i - 1] !== null && ys[i - 1] !== undefined;
    const after = i < ys.length - 1 && ys[i + 1] !== null && ys[i + 1] !== undefined;
    if (!before && !after) out.push(i);
  }
  return out;
}

/** Width in CSS pixels of the widest tick text, measured with the canvas the chart draws on (an estimate without one). */
export function textWidth(ctx: CanvasRenderingContext2D | null | undefined, texts: readonly string[], font = FONT): number {
  let widest = 0;
  for (const t of texts) {
    let w: number;
    if (ctx) {
      ctx.font = font;
      w = ctx.measureText(t).width / (globalThis.devicePixelRatio || 1);
    } else w = t.length * 7.5;
    widest = Math.max(widest, w);
  }
  return widest;
}

/**
 * uPlot options for a chart: every series drawn as a line, with points where a line cannot show a value (a single
 * bucket, or a value between gaps); the y axis as wide as its widest tick text, so tick values (e.g. long dollar
 * amounts) never run into the axis label; a single x value gets a window around it instead of a zero-width scale.
 */
export function chartOptions(p: ChartProps, width: number): uPlot.Options {
  const fmt = (v: number | null | undefined) => (v === null || v === undefined ? '—' : p.formatY ? p.formatY(v) : String(v));
  const fmtAxis = (v: number) => (p.formatAxis ? p.formatAxis(v) : fmt(v));
  const single = p.x.length === 1;
  const stepS = p.x.length > 1 ? p.x[1] - p.x[0] : 3600;
  const yGap = 6;
  return {
    width,
    height: p.height ?? 240,
    scales: single ? { x: { time: true, range: () => [p.x[0] - stepS, p.x[0] + stepS] } } : undefined,
    series: [
      { label: 'Time' },
      ...p.series.map((s, i) => {
        const stroke = s.stroke ?? PALETTE[i % PALETTE.length];
        const lonely = isolatedPoints(p.ys[i] ?? []);
        return {
          label: s.label,
          stroke,
          width: 2,
          value: (_u: uPlot, v: number | null) => fmt(v),
          // uPlot's default hides points on dense series; a lone value must still be seen
          points: lonely.length ? { show: true, size: 7, fill: stroke, filter: single ? null : lonely } : undefined,
        } as uPlot.Series;
      }),
    ],
    axes: [
      { label: 'Time (your time zone)', font: FONT, labelFont: LABEL_FONT },
      {
        label: p.yLabel,
        font: FONT,
        labelFont: LABEL_FONT,
        gap: yGap,
        labelGap: 8,
        labelSize: 20,
        values: (_u: uPlot, splits: number[]) => splits.map((v) => fmtAxis(v)),
        size: (u: uPlot, values: string[] | null) => Math.ceil(textWidth(u?.ctx, values ?? [], FONT) + yGap + 10 + 8),
      },
    ],
  };
}
