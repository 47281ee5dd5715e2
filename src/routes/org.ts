import type { Deps } from '../deps';
import type { Api } from '../http/api';
import { auditActor } from '../http/context';
import { orgBudgetResponse, orgBudgetSchema } from '../teams/budget';
import { presentOrgBudget, setOrgBudget } from '../limits/org-budget';

/** /org: the organisation's own settings — its budget, above every team, user and key (admins only, audited). */
export function orgRoutes(deps: Deps, api: (tag: string) => Api) {
  return api('Organisation')
    .route(
      { method: 'get', path: '/org/budget', summary: "The organisation's budget, its period and what every node together spent this period", auth: 'jwt', permission: 'org:budget', response: orgBudgetResponse },
      () => presentOrgBudget(deps),
    )
    .route(
      { method: 'put', path: '/org/budget', summary: "Set (budget null: remove) the organisation's budget and period; every call is checked against it with the other levels, atomically", auth: 'jwt', permission: 'org:budget', body: orgBudgetSchema, response: orgBudgetResponse },
      (ctx, { body }) => setOrgBudget(deps, body, auditActor(ctx)),
    ).router;
}
