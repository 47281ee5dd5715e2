import { Page, Loading } from '../../../components/Page';
import { ErrorMessage } from '../../../components/ErrorMessage';
import { Money } from '../../../components/Money';
import { dollarsToMicro, formatNumber } from '../../../lib/format';
import { useSession } from '../../../lib/session';
import { TIME_PRESETS, useTimeRange } from '../../../lib/time-range';
import { useMyCredits, useMyKeys, useMyPlan, useTopLists, useUsageOverTime, REFRESH_MS } from '../api/overview';
import { UsageCharts } from '../components/UsageCharts';
import { Totals } from '../components/Totals';

const limit = (n: number | null | undefined) => (n === null || n === undefined ? 'no limit' : formatNumber(n));

/** A developer's home: their own usage and spend, credits left this month, and the limits they run under. */
export function DeveloperHome() {
  const user = useSession().data!.user;
  const { preset } = useTimeRange();
  const rangeLabel = TIME_PRESETS[preset].toLowerCase();
  const series = useUsageOverTime(preset);
  const totals = useTopLists(preset, 1);
  const credits = useMyCredits(user.id);
  const plan = useMyPlan(user.plan);
  const keys = useMyKeys();
  const c = credits.data;
  return (
    <Page title="Your usage">
      <p className="small muted">Your own usage, {rangeLabel}; refreshes every {REFRESH_MS / 1000} s.</p>
      <section className="panel" aria-labelledby="credits-title">
        <h2 id="credits-title">Credits this month</h2>
        <ErrorMessage error={credits.error} />
        {c && (
          <dl className="stats">
            <div>
              <dt>Remaining</dt>
              <dd>{c.remaining === null ? 'unlimited' : <Money micro={dollarsToMicro(c.remaining)} />}</dd>
            </div>
            <div>
              <dt>Spent</dt>
              <dd>
                <Money micro={dollarsToMicro(c.spent)} />
              </dd>
            </div>
            <div>
              <dt>Allowance</dt>
              <dd>{c.allowance === null ? 'unlimited' : <Money micro={dollarsToMicro(c.allowance)} />}</dd>
            </div>
          </dl>
        )}
        {c && c.allowance !== null && (
          <progress max={c.allowance} value={Math.min(c.allowance, c.spent + c.reserved)} aria-label="Share of this month's credits used" />
        )}
      </section>
      <ErrorMessage error={series.error ?? totals.error} />
      {totals.data && <Totals totals={totals.data.totals} />}
      {series.isPending ? <Loading what="Loading your usage" /> : series.data && <UsageCharts series={series.data.series} rangeLabel={rangeLabel} />}
      <section className="panel" aria-labelledby="limits-title">
        <h2 id="limits-title">Your limits</h2>
        <ErrorMessage error={plan.error ?? keys.error} />
        {plan.data && (
          <p>
            Plan <strong>{plan.data.name}</strong>: {limit(plan.data.rpm)} requests a minute, {limit(plan.data.rph)} an hour, {limit(plan.data.rpd)} a
            day, {limit(plan.data.tpm)} tokens a minute.
          </p>
        )}
        {keys.isPending && <Loading what="Loading your keys" />}
        {keys.data && (
          <table aria-label="Your gateway keys">
            <thead>
              <tr>
                <th scope="col">Key</th>
                <th scope="col">Status</th>
                <th scope="col">Own limits (per minute / hour / day)</th>
                <th scope="col">Monthly credits</th>
              </tr>
            </thead>
            <tbody>
              {keys.data.data.map((k) => (
                <tr key={k.id}>
                  <td>
                    {k.name} <code>{k.maskedKey}</code>
                  </td>
                  <td>{k.status}</td>
                  <td>{k.limits ? `${limit(k.limits.rpm)} / ${limit(k.limits.rph)} / ${limit(k.limits.rpd)}` : 'the plan’s'}</td>
                  <td>{k.monthlyCredits === null ? 'the plan’s' : <Money micro={dollarsToMicro(k.monthlyCredits)} />}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
    </Page>
  );
}
