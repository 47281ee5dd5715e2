import { useMemo } from 'react';
import { Chart } from '../../../components/Chart';
import { ErrorMessage } from '../../../components/ErrorMessage';
import { Money } from '../../../components/Money';
import { Loading } from '../../../components/Page';
import { formatNumber, formatTokens } from '../../../lib/format';
import { useTimeRange } from '../../../lib/time-range';
import { useKeyUsage, type GatewayKey } from '../api/keys';

const isoDay = (d: Date) => d.toISOString().slice(0, 10);

/** One key's usage over the shared time range: totals, requests per day, and the daily table. */
export function KeyUsagePanel({ k }: { k: GatewayKey }) {
  const range = useTimeRange();
  const usage = useKeyUsage(k.id, isoDay(range.from), isoDay(range.to));
  const series = useMemo(() => {
    const days = usage.data?.days ?? [];
    return { x: days.map((d) => Date.parse(`${d.day}T00:00:00Z`) / 1000), ys: [days.map((d) => d.requests), days.map((d) => d.errors)] };
  }, [usage.data]);
  if (usage.isPending) return <Loading what="Loading usage" />;
  if (usage.error) return <ErrorMessage error={usage.error} />;
  const { totals, days } = usage.data;
  return (
    <section className="panel" aria-label={`Usage of ${k.name}`}>
      <p>
        {formatNumber(totals.requests)} {totals.requests === 1 ? 'request' : 'requests'} ({formatNumber(totals.errors)} errors),{' '}
        {formatTokens(totals.promptTokens + totals.completionTokens)} tokens,{' '}
        <Money micro={totals.costMicros} /> from {usage.data.from} to {usage.data.to} (UTC days).
      </p>
      {days.length > 0 && <Chart title={`Requests per day for ${k.name}`} x={series.x} ys={series.ys} series={[{ label: 'Requests' }, { label: 'Errors' }]} yLabel="Requests per day" />}
      {days.length > 0 && (
        <table aria-label={`Daily usage of ${k.name}`}>
          <thead>
            <tr>
              <th scope="col">Day (UTC)</th>
              <th scope="col">Requests</th>
              <th scope="col">Errors</th>
              <th scope="col">Tokens</th>
              <th scope="col">Cost</th>
            </tr>
          </thead>
          <tbody>
            {days.map((d) => (
              <tr key={d.day}>
                <td>{d.day}</td>
                <td>{formatNumber(d.requests)}</td>
                <td>{formatNumber(d.errors)}</td>
                <td>{formatTokens(d.promptTokens + d.completionTokens)}</td>
                <td>
                  <Money micro={d.costMicros} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
