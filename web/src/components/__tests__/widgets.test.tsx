import { render, screen, act } from '@testing-library/react';
import { QuotaBar } from '../QuotaBar';
import { Money } from '../Money';
import { formatMicroDollars, formatMicroDollarsAxis, parseDollarsToMicro, dollarsToMicro } from '../../lib/format';
import { chartOptions, isolatedPoints, textWidth } from '../chart-options';
import type { ChartProps } from '../Chart';

const drawn: { opts: any; data: any }[] = [];
jest.mock('uplot', () => {
  return class FakePlot {
    constructor(opts: unknown, data: unknown) {
      drawn.push({ opts, data });
    }
    setSize() {}
    destroy() {}
  };
});

describe('money', () => {
  it('shows dollars with the precision the API stores (micro-dollars), never fewer than two decimals', () => {
    expect(formatMicroDollars(1)).toBe('$0.000001');
    expect(formatMicroDollars(1_234_567_891)).toBe('$1,234.567891');
    expect(formatMicroDollars(2_500_000)).toBe('$2.50');
    expect(formatMicroDollars(-1_500)).toBe('-$0.0015');
    expect(formatMicroDollars(null)).toBe('—');
  });

  it('reads typed dollars into micro-dollars exactly, refusing what is not an amount', () => {
    expect(parseDollarsToMicro('12.5')).toBe(12_500_000);
    expect(parseDollarsToMicro('$0.000001')).toBe(1);
    expect(parseDollarsToMicro('-3')).toBe(-3_000_000);
    expect(parseDollarsToMicro('1.0000001')).toBeNull();
    expect(parseDollarsToMicro('12,50')).toBeNull();
    expect(dollarsToMicro(0.1 + 0.2)).toBe(300_000);
  });

  it('keeps axis ticks short, the amount in the legend exact', () => {
    expect(formatMicroDollarsAxis(250_000)).toBe('$0.25');
    expect(formatMicroDollarsAxis(123_456_789_000)).toBe('$123.5K');
    render(<Money micro={123_456} />);
    expect(screen.getByText('$0.123456').className).toBe('money');
  });
});

describe('QuotaBar', () => {
  it('says how much is used in words and never draws past its end', () => {
    render(<QuotaBar used={1_500} limit={1_000} unit="requests" period="month" />);
    const bar = screen.getByRole('progressbar', { name: '1,500 of 1,000 requests this month' }) as HTMLProgressElement;
    expect(bar.max).toBe(1000);
    expect(bar.value).toBe(1000);
    expect(screen.getByText('1,500 of 1,000 requests this month')).toBeTruthy();
  });
});

describe('charts', () => {
  const base: ChartProps = { title: 'Spend', x: [1_700_000_000], ys: [[1_234_567]], series: [{ label: 'all' }], yLabel: 'Spend (USD per bucket)', formatY: formatMicroDollars };

  it('finds the values a line cannot show: alone, or between gaps', () => {
    expect(isolatedPoints([5])).toEqual([0]);
    expect(isolatedPoints([null, 5, null, 1, 2, null, 3])).toEqual([1, 6]);
    expect(isolatedPoints([1, 2, 3])).toEqual([]);
  });

  it('draws a single point visibly, on an x scale that has width', () => {
    const o = chartOptions(base, 600);
    const s = o.series[1] as any;
    expect(s.points.show).toBe(true);
    expect(s.points.size).toBeGreaterThanOrEqual(5);
    const range = (o.scales!.x as any).range();
    expect(range[0]).toBeLessThan(1_700_000_000);
    expect(range[1]).toBeGreaterThan(1_700_000_000);
    // a dense series keeps uPlot's own point logic
    const dense = chartOptions({ ...base, x: [1, 2, 3], ys: [[1, 2, 3]] }, 600);
    expect((dense.series[1] as any).points).toBeUndefined();
    expect(dense.scales).toBeUndefined();
  });

  it('sizes the y axis to its widest tick text, so values never run into the axis label', () => {
    const o = chartOptions({ ...base, formatAxis: formatMicroDollarsAxis }, 600);
    const y = o.axes![1] as any;
    const ticks = ['$0', '$1,234.5678', '$2,469.1356'];
    expect(y.values(null, [0, 1_234_567_800, 2_469_135_600])).toEqual(ticks);
    const size = y.size({ ctx: null }, ticks);
    expect(size).toBeGreaterThanOrEqual(textWidth(null, ticks) + y.gap);
    expect(y.labelGap).toBeGreaterThan(0);
    expect(y.size({ ctx: null }, ['$1'])).toBeLessThan(size);
  });

  it('hands uPlot the series and labels its figure for screen readers', async () => {
    const { Chart } = await import('../Chart');
    await act(async () => {
      render(<Chart {...base} x={[1, 2]} ys={[[3, 4]]} />);
    });
    await screen.findByRole('img', { name: 'Spend' });
    expect(screen.getByText('Spend', { selector: 'figcaption' })).toBeTruthy();
    const last = drawn[drawn.length - 1];
    expect(last.data).toEqual([[1, 2], [3, 4]]);
    expect(last.opts.axes[1].label).toBe('Spend (USD per bucket)');
  });
});
