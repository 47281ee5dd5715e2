import { useMutation, useQuery } from '@tanstack/react-query';
import { api, unwrap } from '../../../lib/api/client';
import type { paths } from '../../../lib/api/schema';

export type AuditFilters = NonNullable<paths['/audit']['get']['parameters']['query']>;

export interface AuditRow {
  id: number;
  ts: string;
  actor: { type: string; id: string | null };
  action: string;
  target: { type: string; id: string | null };
  ip: string | null;
  requestId: string | null;
  before: unknown;
  after: unknown;
  hash: string;
}

export interface ChainCheck {
  ok: boolean;
  checked: number;
  firstBrokenId: number | null;
  reason: string | null;
}

export function useAudit(filters: AuditFilters) {
  return useQuery({
    queryKey: ['audit', filters],
    queryFn: () => unwrap<{ data: AuditRow[]; total: number; limit: number; offset: number }>(api.GET('/audit', { params: { query: filters } })),
  });
}

/** Walking the chain reads every row: on demand, not on page load. */
export function useVerifyChain() {
  return useMutation({ mutationFn: () => unwrap<ChainCheck>(api.GET('/audit/verify')) });
}
