import { formatNumber } from '../lib/format';

/** How much of a quota is used this period, as a native progress bar with its numbers in words. */
export function QuotaBar({ used, limit, unit, period }: { used: number; limit: number; unit: string; period: string }) {
  const label = `${formatNumber(used)} of ${formatNumber(limit)} ${unit} this ${period}`;
  return (
    <span className="quota">
      <progress max={limit} value={Math.min(used, limit)} aria-label={label} />
      <span className="small">{label}</span>
    </span>
  );
}
