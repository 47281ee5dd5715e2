import { useQuery } from '@tanstack/react-query';
import { api, ApiError, toApiError } from '../../../lib/api/client';
import type { paths } from '../../../lib/api/schema';

export type SystemInfo = paths['/system']['get']['responses']['200']['content']['application/json'];
/** What an older gateway without GET /system can tell: version and readiness only. */
export type SystemSummary = Pick<SystemInfo, 'version' | 'ready' | 'checks'> & Partial<SystemInfo>;

/** GET /system; a gateway without it (404) falls back to /health + /ready, which every gateway has. */
async function fetchSystem(): Promise<SystemSummary> {
  const { data, error, response } = await api.GET('/system');
  if (response.ok) return data as SystemInfo;
  const err = await toApiError(response, error);
  if (!(err instanceof ApiError) || err.status !== 404) throw err;
  const health = (await (await fetch('/health', { credentials: 'same-origin' })).json()) as { version: string };
  const ready = (await (await fetch('/ready', { credentials: 'same-origin' })).json()) as { status: string; checks: Record<string, string> };
  return { version: health.version, ready: ready.status === 'ready', checks: ready.checks };
}

export function useSystemInfo() {
  return useQuery({ queryKey: ['system'], queryFn: fetchSystem, refetchInterval: 30_000 });
}
