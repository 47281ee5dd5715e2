import { formatMicroDollars } from '../lib/format';

/** An amount of integer micro-dollars, shown in dollars (lib/format.ts is the one place that formats money). */
export function Money({ micro }: { micro: number | null | undefined }) {
  return <span className="money">{formatMicroDollars(micro)}</span>;
}
