import { useQuery } from '@tanstack/react-query';
import { ApiError, rawFetch } from '../../../lib/api/client';

export interface SystemInfo {
  version?: string;
  backends?: Record<string, unknown>;
  readiness?: { status: string; checks: Record<string, string> };
  [key: string]: unknown;
}

/**
 * GET /system (version, backends, readiness) where the gateway has it; older gateways answer 404 and the
 * page falls back to /health + /ready, which every gateway has.
 */
async function fetchSystem(): Promise<SystemInfo> {
  try {
    return (await (await rawFetch('/system')).json()) as SystemInfo;
  } catch (err) {
    if (!(err instanceof ApiError) || err.status !== 404) throw err;
  }
  const health = (await (await rawFetch('/health')).json()) as { version: string };
  const ready = await fetch('/ready', { credentials: 'same-origin' });
  return { version: health.version, readiness: (await ready.json()) as SystemInfo['readiness'] };
}

export function useSystemInfo() {
  return useQuery({ queryKey: ['system'], queryFn: fetchSystem, refetchInterval: 30_000 });
}
