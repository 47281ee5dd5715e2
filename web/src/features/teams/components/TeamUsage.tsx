import { useState } from 'react';
import { SelectField } from '../../../components/Field';
import { ErrorMessage } from '../../../components/ErrorMessage';
import { Loading } from '../../../components/Page';
import { Money } from '../../../components/Money';
import { formatNumber, formatTokens } from '../../../lib/format';
import { useTimeRange } from '../../../lib/time-range';
import { useTeamUsage, type Team, type TeamUsageGroup } from '../api/teams';

const GROUPS: { value: TeamUsageGroup; label: string }[] = [
  { value: 'user', label: 'User' },
  { value: 'key', label: 'Key' },
  { value: 'model', label: 'Model' },
  { value: 'service', label: 'Service' },
  { value: 'day', label: 'Day' },
  { value: 'status', label: 'Status' },
];
const day = (d: Date) => d.toISOString().slice(0, 10);

/** What a team's keys used over the shared time range (whole UTC days), grouped as chosen; cost in dollars. */
export function TeamUsage({ team }: { team: Team }) {
  const range = useTimeRange();
  const [groupBy, setGroupBy] = useState<TeamUsageGroup>('user');
  const usage = useTeamUsage(team.id, day(range.from), day(range.to), groupBy);
  return (
    <section aria-label={`Usage of ${team.name}`}>
      <h3>
        Usage of {team.name}, {day(range.from)} to {day(range.to)} (UTC days)
      </h3>
      <SelectField label={`Group ${team.name}'s usage by`} value={groupBy} onChange={(e) => setGroupBy(e.target.value as TeamUsageGroup)} options={GROUPS} />
      {usage.isPending && <Loading what="Loading usage" />}
      <ErrorMessage error={usage.error} />
      {usage.data && (
        <>
          <p>
            {formatNumber(usage.data.totals.requests)} requests, {formatNumber(usage.data.totals.errors)} errors, <Money micro={usage.data.totals.costMicros} /> spent.
          </p>
          {usage.data.rows.length > 0 && (
            <table aria-label={`Usage of ${team.name} by ${groupBy}`}>
              <thead>
                <tr>
                  <th scope="col">{GROUPS.find((g) => g.value === groupBy)?.label}</th>
                  <th scope="col">Requests</th>
                  <th scope="col">Errors</th>
                  <th scope="col">Tokens in / out</th>
                  <th scope="col">Cost</th>
                </tr>
              </thead>
              <tbody>
                {usage.data.rows.map((r) => (
                  <tr key={r.group ?? 'none'}>
                    <td>{r.label ?? 'none'}</td>
                    <td>{formatNumber(r.requests)}</td>
                    <td>{formatNumber(r.errors)}</td>
                    <td>
                      {formatTokens(r.promptTokens)} / {formatTokens(r.completionTokens)}
                    </td>
                    <td>
                      <Money micro={r.costMicros} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </>
      )}
    </section>
  );
}
