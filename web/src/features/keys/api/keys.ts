import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api, unwrap } from '../../../lib/api/client';
import type { paths } from '../../../lib/api/schema';

export type CreateKeyBody = paths['/api-keys']['post']['requestBody']['content']['application/json'];
export type UpdateKeyBody = paths['/api-keys/{id}']['patch']['requestBody']['content']['application/json'];
export type KeyFilters = NonNullable<paths['/api-keys']['get']['parameters']['query']>;
export const SCOPES = ['chat', 'proxy', 'models', 'embeddings'] as const;

/** A gateway key as the API presents it (masked; the plaintext only ever comes once, from create or rotate). */
export interface GatewayKey {
  id: string;
  name: string;
  userId: string;
  environment: 'live' | 'test';
  maskedKey: string;
  scopes: string[];
  services: string[] | null;
  models: string[] | null;
  allowedIps: string[] | null;
  allowedReferrers: string[] | null;
  limits: { rpm?: number | null; rph?: number | null; rpd?: number | null; tpm?: number | null } | null;
  /** credits = dollars */
  monthlyCredits: number | null;
  /** what an administrator set on this key: its owner may only narrow these (the API refuses the rest) */
  lockedByAdmin?: KeyLocks | null;
  teamId?: string | null;
  status: 'active' | 'revoked' | 'expired';
  expiresAt: string | null;
  revokedAt: string | null;
  revokedReason: string | null;
  lastUsedAt: string | null;
  createdAt: string;
  replacedBy: string | null;
  rotatedFrom: string | null;
}

export interface KeyLocks {
  scopes?: string[];
  services?: string[];
  models?: string[];
  allowedIps?: string[];
  allowedReferrers?: string[];
  expiresAt?: string;
  limits?: { rpm?: number; rph?: number; rpd?: number; tpm?: number };
  monthlyCredits?: number;
}

export type IssuedKey = GatewayKey & { key: string };

export interface UserOption {
  id: string;
  email: string;
  role: string;
}

const KEY = ['api-keys'] as const;

export function useKeys(filters: KeyFilters) {
  return useQuery({
    queryKey: [...KEY, filters],
    queryFn: () => unwrap<{ data: GatewayKey[]; total: number; limit: number; offset: number }>(api.GET('/api-keys', { params: { query: filters } })),
  });
}

/** Admins pick whose keys to see or whom a key is for. */
export function useUserOptions(enabled: boolean) {
  return useQuery({
    queryKey: ['users', 'options'],
    enabled,
    queryFn: () => unwrap<{ data: UserOption[] }>(api.GET('/users', { params: { query: { limit: 200 } as never } })),
  });
}

function useKeyMutation<V, R>(fn: (vars: V) => Promise<R>) {
  const queryClient = useQueryClient();
  return useMutation({ mutationFn: fn, onSuccess: () => queryClient.invalidateQueries({ queryKey: KEY }) });
}

export const useCreateKey = () => useKeyMutation((body: CreateKeyBody) => unwrap<IssuedKey>(api.POST('/api-keys', { body })));

export const useUpdateKey = () =>
  useKeyMutation(({ id, body }: { id: string; body: UpdateKeyBody }) => unwrap<GatewayKey>(api.PATCH('/api-keys/{id}', { params: { path: { id } }, body })));

export const useRevokeKey = () =>
  useKeyMutation(({ id, reason }: { id: string; reason?: string }) =>
    unwrap<void>(api.DELETE('/api-keys/{id}', { params: { path: { id }, query: reason ? { reason } : {} } })),
  );

export const useRotateKey = () =>
  useKeyMutation(({ id, gracePeriodSeconds, reason }: { id: string; gracePeriodSeconds: number; reason?: string }) =>
    unwrap<IssuedKey>(api.POST('/api-keys/{id}/rotate', { params: { path: { id } }, body: { gracePeriodSeconds, ...(reason ? { reason } : {}) } })),
  );

export interface KeyUsage {
  from: string;
  to: string;
  days: { day: string; requests: number; errors: number; promptTokens: number; completionTokens: number; costMicros: number; avgLatencyMs: number | null }[];
  totals: { requests: number; errors: number; promptTokens: number; completionTokens: number; costMicros: number };
}

/** Daily usage of one key over UTC days (the shared time range, by day). */
export function useKeyUsage(id: string, from: string, to: string) {
  return useQuery({
    queryKey: [...KEY, id, 'usage', from, to],
    queryFn: () => unwrap<KeyUsage>(api.GET('/api-keys/{id}/usage', { params: { path: { id }, query: { from, to } } })),
  });
}
