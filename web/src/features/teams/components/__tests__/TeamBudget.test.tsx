import { render, screen } from '@testing-library/react';
import { budgetChanges } from '../TeamBudget';
import { BudgetBar } from '../BudgetBar';
import type { TeamBudget } from '../../api/teams';

const b: TeamBudget = {
  teamId: 't1',
  budget: 100,
  period: 'monthly',
  periodLabel: '2026-12',
  periodStart: '2026-12-01T00:00:00Z',
  periodEnd: '2027-01-01T00:00:00Z',
  timeZone: 'UTC',
  spent: 12.5,
  remaining: 87.5,
  members: [
    { userId: 'u1', email: 'a@example.test', role: 'team_admin', budget: 40, spent: 10 },
    { userId: 'u2', email: 'b@example.test', role: 'member', budget: null, spent: 2.5 },
  ],
  keys: [{ keyId: 'k1', name: 'ci', userId: 'u1', budget: null, spent: 1 }],
};
const form = (over: Partial<Parameters<typeof budgetChanges>[1]> = {}) => ({
  budget: '100',
  period: 'monthly' as const,
  members: { u1: '40', u2: '' },
  keys: { k1: '' },
  ...over,
});

describe('team budget', () => {
  it('sends only what changed: the budget, the period, each changed share (empty removes one)', () => {
    expect(budgetChanges(b, form())).toEqual({});
    expect(budgetChanges(b, form({ budget: '80.25' }))).toEqual({ budget: 80.25 });
    expect(budgetChanges(b, form({ budget: '' , period: 'rolling_7d' }))).toEqual({ budget: null, period: 'rolling_7d' });
    expect(budgetChanges(b, form({ members: { u1: '', u2: '10' }, keys: { k1: '5' } }))).toEqual({
      members: [
        { userId: 'u1', budget: null },
        { userId: 'u2', budget: 10 },
      ],
      keys: [{ keyId: 'k1', budget: 5 }],
    });
  });

  it('shows spent against the budget in dollars and words, or that there is none', () => {
    const { rerender } = render(<BudgetBar spent={150} budget={100} label="Research" />);
    const bar = screen.getByRole('progressbar', { name: 'Research: $150.00 of $100.00 spent' }) as HTMLProgressElement;
    expect(bar.value).toBe(100);
    expect(screen.getByText('$150.00')).toBeTruthy();
    rerender(<BudgetBar spent={0.000123} budget={null} label="Research" />);
    expect(screen.queryByRole('progressbar')).toBeNull();
    expect(screen.getByText('$0.000123')).toBeTruthy();
  });
});
