import { useState, type FormEvent } from 'react';
import { SelectField, TextField } from '../../../components/Field';
import { ErrorMessage } from '../../../components/ErrorMessage';
import { Loading } from '../../../components/Page';
import { DateTime } from '../../../components/DateTime';
import { BUDGET_PERIODS, useSetTeamBudget, useTeamBudget, type BudgetPeriod, type Team, type TeamBudget as Budget, type TeamBudgetBody } from '../api/teams';
import { BudgetBar } from './BudgetBar';

const amount = (text: string) => (text.trim() === '' ? null : Number(text));
const text = (v: number | null) => (v === null ? '' : String(v));

/** The PUT body for what changed: the team's budget and period, and each member's and key's share. */
export function budgetChanges(b: Budget, f: { budget: string; period: BudgetPeriod; members: Record<string, string>; keys: Record<string, string> }): TeamBudgetBody {
  const body: TeamBudgetBody = {};
  if (amount(f.budget) !== b.budget) body.budget = amount(f.budget);
  if (f.period !== b.period) body.period = f.period;
  const members = b.members.filter((m) => amount(f.members[m.userId] ?? '') !== m.budget).map((m) => ({ userId: m.userId, budget: amount(f.members[m.userId] ?? '') }));
  const keys = b.keys.filter((k) => amount(f.keys[k.keyId] ?? '') !== k.budget).map((k) => ({ keyId: k.keyId, budget: amount(f.keys[k.keyId] ?? '') }));
  if (members.length) body.members = members;
  if (keys.length) body.keys = keys;
  return body;
}

/**
 * A team's budget this period, and its split per member and per key. An admin sets the budget and period; a team
 * admin may lower the budget and split it, never raise it (the API answers 403, or 422 for a share above the team's
 * budget, and the form shows its words).
 */
export function TeamBudget({ team, isAdmin }: { team: Team; isAdmin: boolean }) {
  const budget = useTeamBudget(team.id);
  return (
    <section aria-label={`Budget of ${team.name}`}>
      <h3>Budget of {team.name}</h3>
      {budget.isPending && <Loading what="Loading the budget" />}
      <ErrorMessage error={budget.error} />
      {budget.data && <BudgetForm key={budget.dataUpdatedAt} b={budget.data} team={team} isAdmin={isAdmin} />}
    </section>
  );
}

function BudgetForm({ b, team, isAdmin }: { b: Budget; team: Team; isAdmin: boolean }) {
  const save = useSetTeamBudget();
  const [f, setF] = useState(() => ({
    budget: text(b.budget),
    period: b.period,
    members: Object.fromEntries(b.members.map((m) => [m.userId, text(m.budget)])),
    keys: Object.fromEntries(b.keys.map((k) => [k.keyId, text(k.budget)])),
  }));
  const [nothing, setNothing] = useState(false);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    const body = budgetChanges(b, f);
    setNothing(Object.keys(body).length === 0);
    if (Object.keys(body).length) save.mutate({ teamId: team.id, body });
  };
  return (
    <form onSubmit={submit} aria-label={`Budget of ${team.name}`}>
      <p>
        <BudgetBar spent={b.spent} budget={b.budget} label={`${team.name} this period`} /> — period {b.periodLabel} ({b.timeZone}), from <DateTime value={b.periodStart} />
      </p>
      <div className="form-grid">
        <TextField label="Team budget (USD per period)" type="number" min={0} step="0.000001" value={f.budget} onChange={(e) => setF({ ...f, budget: e.target.value })} hint={isAdmin ? 'Empty = none.' : 'You may lower it, not raise it.'} />
        <SelectField label="Budget period" value={f.period} disabled={!isAdmin} onChange={(e) => setF({ ...f, period: e.target.value as BudgetPeriod })} options={[...BUDGET_PERIODS]} />
      </div>
      {b.members.length > 0 && (
        <table aria-label={`Member shares of ${team.name}`}>
          <thead>
            <tr>
              <th scope="col">Member</th>
              <th scope="col">Spent this period</th>
              <th scope="col">Share (USD)</th>
            </tr>
          </thead>
          <tbody>
            {b.members.map((m) => (
              <tr key={m.userId}>
                <td>{m.email}</td>
                <td>
                  <BudgetBar spent={m.spent} budget={m.budget} label={m.email} />
                </td>
                <td>
                  <TextField label={`Share of ${m.email}`} type="number" min={0} step="0.000001" value={f.members[m.userId] ?? ''} onChange={(e) => setF({ ...f, members: { ...f.members, [m.userId]: e.target.value } })} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {b.keys.length > 0 && (
        <table aria-label={`Key shares of ${team.name}`}>
          <thead>
            <tr>
              <th scope="col">Key</th>
              <th scope="col">Spent this period</th>
              <th scope="col">Share (USD)</th>
            </tr>
          </thead>
          <tbody>
            {b.keys.map((k) => (
              <tr key={k.keyId}>
                <td>{k.name}</td>
                <td>
                  <BudgetBar spent={k.spent} budget={k.budget} label={k.name} />
                </td>
                <td>
                  <TextField label={`Share of key ${k.name}`} type="number" min={0} step="0.000001" value={f.keys[k.keyId] ?? ''} onChange={(e) => setF({ ...f, keys: { ...f.keys, [k.keyId]: e.target.value } })} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {nothing && (
        <p role="status" className="muted">
          Nothing changed.
        </p>
      )}
      <ErrorMessage error={save.error} />
      <button type="submit" disabled={save.isPending}>
        Save budget
      </button>
    </form>
  );
}
