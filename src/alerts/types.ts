/**
 * The contract between budgets (limits/) and budget alerts (alerts/), issue 17. The limit service reports, after a
 * call settles, where each budget level along the caller's chain now stands; the alert service decides which
 * thresholds that crosses and fires each one once per period per threshold, across nodes. `observe` is synchronous
 * and must never throw or block the request path: the alert service queues and works in the background.
 */
export type BudgetScope = 'key' | 'user' | 'member' | 'team' | 'org';

export interface BudgetUsageSample {
  scope: BudgetScope;
  /** the key, user, team id; for 'member' `${teamId}:${userId}`; for 'org' the literal 'org' */
  scopeId: string;
  /** the period's label as the budget counts it: '2026-12' (monthly), '2026-W49' (weekly), '2026-12-07' (daily), or a rolling window's label */
  period: string;
  /** spent in the period after this call settled (every node's calls together: read from the shared counter) */
  spentMicros: number;
  budgetMicros: number;
  /** the team the budget belongs to, when there is one (for routing the alert to that team's webhooks) */
  teamId?: string | null;
  /** this budget's own alert thresholds in percent, when it has some; otherwise ALERT_THRESHOLDS (default 50, 80, 100) */
  thresholds?: readonly number[];
}

export interface BudgetObserver {
  observe(samples: readonly BudgetUsageSample[]): void;
}

/** The default until alerts are wired: budgets report to nobody. */
export const noBudgetObserver: BudgetObserver = { observe() {} };
