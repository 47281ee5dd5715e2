import type { Command } from 'commander';
import type { WithDeps } from '../cli';
import { GROUP_BY, GroupBy, usageReport, usageTotals } from '../../src/usage/analytics';
import { resolvePeriod } from '../../src/usage/period';
import { formatUsageTable } from '../../src/usage/table';

interface UsageOptions {
  user?: string;
  team?: string;
  from?: string;
  to?: string;
  by?: string;
}

/** `keywallet usage`: the /analytics/usage report as a terminal table, from the same functions. */
export function registerUsageCommands(program: Command, withDeps: WithDeps): void {
  program
    .command('usage')
    .description('usage report: every user summarised (default), or one user (--user) day by day; --by team for teams')
    .option('--user <email>', 'only this user')
    .option('--team <slug>', "only calls made with this team's keys")
    .option('--from <YYYY-MM-DD>', 'first day, UTC (default: 29 days before --to)')
    .option('--to <YYYY-MM-DD>', 'last day, UTC (default: today)')
    .option('--by <group>', `group rows by ${GROUP_BY.join(' | ')} (default: user, or day with --user)`)
    .action((opts: UsageOptions) =>
      withDeps(async (deps) => {
        const groupBy = (opts.by ?? (opts.user ? 'day' : 'user')) as GroupBy;
        if (!GROUP_BY.includes(groupBy)) throw new Error(`--by must be one of ${GROUP_BY.join(', ')}`);
        const period = resolvePeriod({ from: opts.from, to: opts.to }, deps.clock.now());
        let userId: string | undefined;
        if (opts.user) {
          const user = await deps.db('users').where({ email: opts.user.toLowerCase() }).first('id');
          if (!user) throw new Error(`no user ${opts.user}`);
          userId = user.id as string;
        }
        let teamId: string | undefined;
        if (opts.team) {
          const team = await deps.db('teams').where({ slug: opts.team.toLowerCase() }).first('id');
          if (!team) throw new Error(`no team ${opts.team}`);
          teamId = team.id as string;
        }
        const filter = { ...period, userId, teamId };
        const [rows, totals] = await Promise.all([usageReport(deps.db, filter, groupBy), usageTotals(deps.db, filter)]);
        const who = opts.user ? ` for ${opts.user.toLowerCase()}` : ', all users';
        const title = `Usage ${period.from} .. ${period.to}${who}${opts.team ? ` in team ${opts.team.toLowerCase()}` : ''}`;
        process.stdout.write(`${title}\n\n`);
        process.stdout.write(rows.length ? formatUsageTable(rows, totals, groupBy) : 'no usage in this period\n');
      }),
    );
}
