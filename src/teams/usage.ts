import { can } from '../auth/permissions';
import type { SessionUser } from '../http/context';
import { AppError, forbidden, notFound } from '../http/errors';
import type { Db } from '../store/db';
import { GroupBy, UsageFilter, usageReport, usageTotals } from '../usage/analytics';
import { teamRoleOf } from './access';

/**
 * A team's usage (`GET /teams/:id/usage`): the events made with the team's keys (the key's team at call time), from
 * the same rollups and functions as /analytics/usage. Admins and analysts read any team; a team admin reads their
 * own team only; nobody else (a plain member, a developer, a team admin of another team).
 */
export async function teamUsage(
  db: Db,
  user: SessionUser,
  teamId: string,
  filter: Omit<UsageFilter, 'teamId'>,
  groupBy: GroupBy,
) {
  const orgWide = can(user.role, 'analytics:all');
  // checked before the team is looked up: a non-admin learns nothing of which other teams exist
  if (!orgWide && (await teamRoleOf(db, teamId, user.id)) !== 'team_admin') {
    throw forbidden("Only an admin, an analyst or a team admin of this team may read the team's usage");
  }
  // the wallet is the organisation's: a team admin sees no wallet entry ids or labels, not even through usage
  if (!orgWide && groupBy === 'providerKey') {
    throw new AppError('forbidden', 'Grouping by provider key needs an admin or an analyst', { param: 'groupBy' });
  }
  if (!(await db('teams').where({ id: teamId }).first('id'))) throw notFound('Team');
  const scoped = { ...filter, teamId };
  const [rows, totals] = await Promise.all([usageReport(db, scoped, groupBy), usageTotals(db, scoped)]);
  return { rows, totals };
}
