import { useQuery } from '@tanstack/react-query';
import { api, unwrap } from '../../../lib/api/client';

export interface Explanation {
  service: string;
  environment: 'live' | 'test';
  model: string | null;
  candidates: { id: string; label: string; tier: string; priority: number; weight: number; why: string; quota: { limit: number; unit: string; period: string; used: number } | null }[];
  skipped: { id: string; label: string; reason: string; until?: string }[];
  decision: string;
}

export function useExplain(query: { service: string; model?: string; environment: 'live' | 'test' } | null) {
  return useQuery({
    queryKey: ['routing', 'explain', query],
    enabled: query !== null,
    queryFn: () => unwrap<Explanation>(api.GET('/routing/explain', { params: { query: query! } })),
  });
}

export function useServiceSlugs() {
  return useQuery({
    queryKey: ['services'],
    queryFn: () => unwrap<{ data: { slug: string; name: string }[] }>(api.GET('/services')),
    staleTime: 60_000,
  });
}
