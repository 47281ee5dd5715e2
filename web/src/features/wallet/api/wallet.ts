import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api, unwrap } from '../../../lib/api/client';
import type { paths } from '../../../lib/api/schema';

export type CreateEntryBody = paths['/wallet/keys']['post']['requestBody']['content']['application/json'];
export type UpdateEntryBody = paths['/wallet/keys/{id}']['patch']['requestBody']['content']['application/json'];
export type WalletFilters = NonNullable<paths['/wallet/keys']['get']['parameters']['query']>;

export interface Quota {
  limit: number;
  unit: 'requests' | 'tokens' | 'credits';
  period: 'minute' | 'hour' | 'day' | 'month';
  used?: number;
  remaining?: number;
  resetsAt?: string;
}

/** A wallet entry as GET /wallet/keys presents it (masked: never the secret). */
export interface WalletEntry {
  id: string;
  service: string;
  label: string;
  tier: 'free' | 'paid';
  priority: number;
  weight: number;
  environment: 'live' | 'test';
  status: 'active' | 'disabled' | 'invalid';
  statusReason: string | null;
  secretHint: string;
  keyVersion: number;
  quota: Quota | null;
  metadata: Record<string, unknown>;
  lastUsedAt: string | null;
  createdAt: string;
  updatedAt: string;
}

export interface ImportResult {
  index: number;
  ok?: boolean;
  id?: string;
  service?: string;
  label?: string;
  line?: number;
  error?: { code: string; message: string };
}

export interface ServiceSummary {
  slug: string;
  name: string;
  kind: string;
  keyPattern: string | null;
  enabled: boolean;
}

const KEY = ['wallet'] as const;

export function useWalletEntries(filters: WalletFilters) {
  return useQuery({
    queryKey: [...KEY, 'list', filters],
    queryFn: () => unwrap<{ data: WalletEntry[] }>(api.GET('/wallet/keys', { params: { query: filters } })),
  });
}

/** One entry with its quota used this period (the list does not count usage). */
export function useWalletEntry(id: string, enabled: boolean) {
  return useQuery({
    queryKey: [...KEY, 'one', id],
    enabled,
    queryFn: () => unwrap<WalletEntry>(api.GET('/wallet/keys/{id}', { params: { path: { id } } })),
  });
}

/** The services and their key patterns, for the service filter and the "detected as" preview. */
export function useServiceList() {
  return useQuery({
    queryKey: ['services'],
    queryFn: () => unwrap<{ data: ServiceSummary[] }>(api.GET('/services')),
    staleTime: 60_000,
  });
}

function useWalletMutation<V, R>(fn: (vars: V) => Promise<R>) {
  const queryClient = useQueryClient();
  return useMutation({ mutationFn: fn, onSuccess: () => queryClient.invalidateQueries({ queryKey: KEY }) });
}

export const useCreateEntry = () => useWalletMutation((body: CreateEntryBody) => unwrap<WalletEntry>(api.POST('/wallet/keys', { body })));

export const useUpdateEntry = () =>
  useWalletMutation(({ id, body }: { id: string; body: UpdateEntryBody }) =>
    unwrap<WalletEntry>(api.PATCH('/wallet/keys/{id}', { params: { path: { id } }, body })),
  );

export const useDeleteEntry = () => useWalletMutation((id: string) => unwrap<void>(api.DELETE('/wallet/keys/{id}', { params: { path: { id } } })));

export const useReplaceSecret = () =>
  useWalletMutation(({ id, secret }: { id: string; secret: string }) =>
    unwrap<WalletEntry>(api.POST('/wallet/keys/{id}/secret', { params: { path: { id } }, body: { secret } })),
  );

export const useImportEntries = () =>
  useWalletMutation((body: unknown[] | { dotenv: string }) =>
    unwrap<{ results: ImportResult[]; created: number; failed: number }>(api.POST('/wallet/import', { body: body as never })),
  );
