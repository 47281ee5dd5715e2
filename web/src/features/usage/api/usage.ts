import { useQuery } from '@tanstack/react-query';
import { api, rawFetch, unwrap } from '../../../lib/api/client';
import type { paths } from '../../../lib/api/schema';
import type { TimeseriesResponse } from '../../../lib/usage-series';

export type UsageTableResponse = paths['/analytics/usage']['get']['responses'][200]['content']['application/json'];
export type UsageRow = UsageTableResponse['rows'][number];
export type GroupBy = 'user' | 'key' | 'service' | 'model' | 'status' | 'providerKey' | 'team';
export type StatusClass = '2xx' | '3xx' | '4xx' | '429' | '5xx';

/** What the explorer shows, as the API takes it: the chart, the table and the CSV all read these same filters. */
export interface UsageFilters {
  from: string;
  to: string;
  bucket: 'hour' | 'day';
  groupBy: GroupBy;
  service?: string;
  model?: string;
  status?: StatusClass;
}

const filterParams = (f: UsageFilters) => ({ from: f.from, to: f.to, service: f.service, model: f.model, status: f.status });

export function useUsageSeries(f: UsageFilters) {
  return useQuery({
    queryKey: ['analytics', 'explorer', 'series', f],
    queryFn: async () => {
      // marks for measuring a large range in the browser: request → data → charts drawn (bench/console-look.ts)
      performance.mark('usage-series-requested');
      const data = await unwrap<TimeseriesResponse>(
        api.GET('/analytics/timeseries', { params: { query: { ...filterParams(f), bucket: f.bucket, groupBy: f.groupBy, top: 5 } } }),
      );
      performance.mark('usage-series-received');
      return data;
    },
  });
}

export function useUsageTable(f: UsageFilters) {
  return useQuery({
    queryKey: ['analytics', 'explorer', 'table', f],
    queryFn: () => unwrap<UsageTableResponse>(api.GET('/analytics/usage', { params: { query: { ...filterParams(f), groupBy: f.groupBy } } })),
  });
}

/**
 * The table as CSV: the gateway's own export (/analytics/usage?format=csv) with exactly the table's query, so the
 * file holds the rows on screen, one for one. Downloaded through a blob (the session cookie goes along).
 */
export async function downloadUsageCsv(f: UsageFilters): Promise<void> {
  const query = new URLSearchParams({ format: 'csv', groupBy: f.groupBy });
  for (const [k, v] of Object.entries(filterParams(f))) if (v) query.set(k, v);
  const response = await rawFetch(`/analytics/usage?${query}`);
  const name = /filename="([^"]+)"/.exec(response.headers.get('content-disposition') ?? '')?.[1] ?? 'usage.csv';
  const url = URL.createObjectURL(await response.blob());
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}
