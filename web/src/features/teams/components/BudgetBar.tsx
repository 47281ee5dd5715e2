import { Money } from '../../../components/Money';
import { dollarsToMicro } from '../../../lib/format';

/** Spent of a budget this period, in dollars, as a native progress bar with the figures in words. */
export function BudgetBar({ spent, budget, label }: { spent: number; budget: number | null; label: string }) {
  if (budget === null) {
    return (
      <span className="small">
        <Money micro={dollarsToMicro(spent)} /> spent, no budget
      </span>
    );
  }
  const words = `${label}: $${spent.toFixed(2)} of $${budget.toFixed(2)} spent`;
  return (
    <span className="quota">
      <progress max={Math.max(budget, 0.000001)} value={Math.min(spent, budget)} aria-label={words} />
      <span className="small">
        <Money micro={dollarsToMicro(spent)} /> of <Money micro={dollarsToMicro(budget)} />
      </span>
    </span>
  );
}
