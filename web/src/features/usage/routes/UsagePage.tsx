import '../usage.css';
import { useState } from 'react';
import { useSearchParams } from 'react-router';
import { Page, Loading } from '../../../components/Page';
import { ErrorMessage } from '../../../components/ErrorMessage';
import { useTimeRange, type TimePreset } from '../../../lib/time-range';
import { downloadUsageCsv, useUsageSeries, useUsageTable, type UsageFilters } from '../api/usage';
import { UsageFiltersForm } from '../components/UsageFiltersForm';
import { UsageTable } from '../components/UsageTable';
import { ExplorerCharts } from '../components/ExplorerCharts';

const DAY_MS = 86_400_000;
const PRESET_DAYS: Record<TimePreset, number> = { '24h': 2, '7d': 7, '30d': 30, '90d': 90 };
const GROUP_LABELS: Record<UsageFilters['groupBy'], string> = {
  user: 'User',
  key: 'Gateway key',
  service: 'Service',
  model: 'Model',
  status: 'Status',
  providerKey: 'Provider key',
  team: 'Team',
};
const utcDay = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/** The filters from the URL; a missing range starts from the shared time range, in whole UTC days. */
function useFilters(): [UsageFilters, (next: Partial<UsageFilters>) => void] {
  const [params, setParams] = useSearchParams();
  const { preset } = useTimeRange();
  const today = utcDay(Date.now());
  const filters: UsageFilters = {
    from: params.get('from') ?? utcDay(Date.now() - (PRESET_DAYS[preset] - 1) * DAY_MS),
    to: params.get('to') ?? today,
    bucket: params.get('bucket') === 'hour' ? 'hour' : 'day',
    groupBy: (params.get('groupBy') as UsageFilters['groupBy']) ?? 'user',
    service: params.get('service') ?? undefined,
    model: params.get('model') ?? undefined,
    status: (params.get('status') as UsageFilters['status']) ?? undefined,
  };
  const update = (next: Partial<UsageFilters>) => {
    const merged = { ...filters, ...next };
    const search = new URLSearchParams();
    for (const [k, v] of Object.entries(merged)) if (v) search.set(k, String(v));
    setParams(search, { replace: true });
  };
  return [filters, update];
}

/** The analyst's usage explorer: series and a table grouped by user, key, service, model or status; CSV of the table. */
export default function UsagePage() {
  const [filters, setFilters] = useFilters();
  const series = useUsageSeries(filters);
  const table = useUsageTable(filters);
  const [exportError, setExportError] = useState<unknown>(null);
  const groupLabel = GROUP_LABELS[filters.groupBy] ?? 'Group';
  const exportCsv = () => {
    setExportError(null);
    downloadUsageCsv(filters).catch(setExportError);
  };
  return (
    <Page
      title="Usage"
      actions={
        <button type="button" onClick={exportCsv} disabled={!table.data}>
          Export CSV
        </button>
      }
    >
      <UsageFiltersForm filters={filters} onChange={setFilters} />
      <p className="small muted">
        {table.data?.scope === 'own' ? 'Your own usage' : 'Everyone’s usage'}, {filters.from} to {filters.to} (UTC days). The CSV export is the gateway’s
        /analytics/usage?format=csv with the table’s filters: the rows below, one for one.
      </p>
      <ErrorMessage error={exportError ?? series.error ?? table.error} />
      {series.isPending ? <Loading what="Loading the charts" /> : series.data && <ExplorerCharts series={series.data.series} groupLabel={groupLabel} />}
      {table.isPending ? <Loading what="Loading the table" /> : table.data && <UsageTable rows={table.data.rows} groupLabel={groupLabel} />}
      {table.data && table.data.rows.length === 0 && <p>No usage matches these filters.</p>}
    </Page>
  );
}
