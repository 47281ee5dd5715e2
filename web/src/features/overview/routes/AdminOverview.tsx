import { Page, Loading } from '../../../components/Page';
import { ErrorMessage } from '../../../components/ErrorMessage';
import { TIME_PRESETS, useTimeRange } from '../../../lib/time-range';
import { useTopLists, useUsageOverTime, useWalletHealth, REFRESH_MS } from '../api/overview';
import { UsageCharts } from '../components/UsageCharts';
import { TopTable } from '../components/TopTable';
import { Totals } from '../components/Totals';
import { WalletGlance } from '../components/WalletGlance';

/** Admins and analysts: everyone's usage over the shared time range; admins also see the wallet's health. */
export function AdminOverview({ withWallet }: { withWallet: boolean }) {
  const { preset } = useTimeRange();
  const rangeLabel = TIME_PRESETS[preset].toLowerCase();
  const series = useUsageOverTime(preset);
  const top = useTopLists(preset);
  const health = useWalletHealth(withWallet);
  return (
    <Page title="Overview">
      <p className="small muted">Everyone’s usage, {rangeLabel}; refreshes every {REFRESH_MS / 1000} s.</p>
      <ErrorMessage error={series.error ?? top.error} />
      {top.data && <Totals totals={top.data.totals} />}
      {series.isPending ? <Loading what="Loading usage" /> : series.data && <UsageCharts series={series.data.series} rangeLabel={rangeLabel} />}
      {withWallet && (health.data ? <WalletGlance health={health.data} /> : <ErrorMessage error={health.error} />)}
      {top.data && (
        <div className="top-grid">
          <TopTable caption="Top users" rows={top.data.top.users} />
          <TopTable caption="Top keys" rows={top.data.top.keys} />
          <TopTable caption="Top services" rows={top.data.top.services} />
          <TopTable caption="Top models" rows={top.data.top.models} />
        </div>
      )}
    </Page>
  );
}
