import { useState, type FormEvent } from 'react';
import { SelectField, TextField } from '../../../components/Field';
import { ErrorMessage } from '../../../components/ErrorMessage';
import { Loading } from '../../../components/Page';
import { BUDGET_PERIODS, useOrgBudget, useSetOrgBudget, type BudgetPeriod, type BudgetStanding } from '../api/teams';
import { BudgetBar } from './BudgetBar';

/** The organisation's budget (admins): where it stands this period, and a form to set or remove it. */
export function OrgBudget() {
  const budget = useOrgBudget(true);
  return (
    <section className="panel" aria-labelledby="org-budget-title">
      <h2 id="org-budget-title">Organisation budget</h2>
      {budget.isPending && <Loading what="Loading the budget" />}
      <ErrorMessage error={budget.error} />
      {budget.data && <OrgBudgetForm key={budget.dataUpdatedAt} b={budget.data} />}
    </section>
  );
}

function OrgBudgetForm({ b }: { b: BudgetStanding }) {
  const save = useSetOrgBudget();
  const [amount, setAmount] = useState(b.budget === null ? '' : String(b.budget));
  const [period, setPeriod] = useState<BudgetPeriod>(b.period);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    save.mutate({ budget: amount.trim() === '' ? null : Number(amount), period });
  };
  return (
    <form onSubmit={submit} aria-label="Organisation budget">
      <p>
        <BudgetBar spent={b.spent} budget={b.budget} label="The organisation this period" /> — period {b.periodLabel} ({b.timeZone})
      </p>
      <div className="form-grid">
        <TextField label="Organisation budget (USD per period)" type="number" min={0} step="0.000001" value={amount} onChange={(e) => setAmount(e.target.value)} hint="Empty = none. Every call is checked against it." />
        <SelectField label="Organisation budget period" value={period} onChange={(e) => setPeriod(e.target.value as BudgetPeriod)} options={[...BUDGET_PERIODS]} />
      </div>
      <ErrorMessage error={save.error} />
      <button type="submit" disabled={save.isPending}>
        Save organisation budget
      </button>
    </form>
  );
}
