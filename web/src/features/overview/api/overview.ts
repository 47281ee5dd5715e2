import { useQuery } from '@tanstack/react-query';
import { api, unwrap } from '../../../lib/api/client';
import type { paths } from '../../../lib/api/schema';
import type { TimePreset } from '../../../lib/time-range';
import { presetRange, type TimeseriesQuery, type TimeseriesResponse } from '../../../lib/usage-series';

/** The overview refreshes itself: new requests show up without a page reload. */
export const REFRESH_MS = 15_000;

export type OverviewResponse = paths['/analytics/overview']['get']['responses'][200]['content']['application/json'];
export type WalletHealth = paths['/wallet/health']['get']['responses'][200]['content']['application/json'];

export function useUsageOverTime(preset: TimePreset, extra: Omit<TimeseriesQuery, 'from' | 'to' | 'bucket'> = {}) {
  return useQuery({
    queryKey: ['analytics', 'timeseries', preset, extra],
    queryFn: () => unwrap<TimeseriesResponse>(api.GET('/analytics/timeseries', { params: { query: { ...presetRange(preset), ...extra } } })),
    refetchInterval: REFRESH_MS,
  });
}

export function useTopLists(preset: TimePreset, top = 5) {
  return useQuery({
    queryKey: ['analytics', 'overview', preset, top],
    queryFn: () => {
      const { from, bucket } = presetRange(preset);
      // the 24 hours up to now are an hourly range; the API's default for a bare overview is 30 days
      const since = bucket === 'hour' && !from ? new Date(Date.now() - 86_400_000).toISOString() : from;
      return unwrap<OverviewResponse>(api.GET('/analytics/overview', { params: { query: { from: since, top } } }));
    },
    refetchInterval: REFRESH_MS,
  });
}

export function useWalletHealth(enabled: boolean) {
  return useQuery({
    queryKey: ['wallet', 'health'],
    queryFn: () => unwrap<WalletHealth>(api.GET('/wallet/health')),
    refetchInterval: REFRESH_MS,
    enabled,
  });
}

export interface CreditBalance {
  period: string;
  plan: string;
  allowance: number | null;
  spent: number;
  reserved: number;
  remaining: number | null;
  topUps: number;
}

export interface Plan {
  id: string;
  name: string;
  rpm: number | null;
  rph: number | null;
  rpd: number | null;
  tpm: number | null;
  monthlyCredits: number | null;
}

export interface GatewayKeySummary {
  id: string;
  name: string;
  maskedKey: string;
  status: string;
  environment: string;
  limits: { rpm?: number; rph?: number; rpd?: number; tpm?: number } | null;
  monthlyCredits: number | null;
}

/** A developer's own credits this month, their plan's limits and their keys' own limits. */
export function useMyCredits(userId: string) {
  return useQuery({
    queryKey: ['credits', userId],
    queryFn: () => unwrap<CreditBalance>(api.GET('/users/{id}/credits', { params: { path: { id: userId } } })),
    refetchInterval: REFRESH_MS,
  });
}

export function useMyPlan(planId: string) {
  return useQuery({ queryKey: ['plans', planId], queryFn: () => unwrap<Plan>(api.GET('/plans/{id}', { params: { path: { id: planId } } })) });
}

export function useMyKeys() {
  return useQuery({ queryKey: ['api-keys', 'mine'], queryFn: () => unwrap<{ data: GatewayKeySummary[] }>(api.GET('/api-keys', {})) });
}
