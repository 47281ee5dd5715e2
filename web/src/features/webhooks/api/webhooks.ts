import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api, unwrap } from '../../../lib/api/client';
import type { paths } from '../../../lib/api/schema';

export type CreateWebhookBody = paths['/webhooks']['post']['requestBody']['content']['application/json'];
export type UpdateWebhookBody = paths['/webhooks/{id}']['patch']['requestBody']['content']['application/json'];
export const ALERT_EVENTS = ['budget.threshold', 'wallet.entry_invalid', 'wallet.quota_threshold', 'wallet.free_tier_exhausted'] as const;
/** A team's webhook receives its team's budget alerts only (wallet events concern the organisation's shared wallet). */
export const TEAM_EVENTS: readonly string[] = ['budget.threshold'];

export interface Webhook {
  id: string;
  teamId: string | null;
  description: string | null;
  url: string;
  events: string[];
  enabled: boolean;
  allowPrivate: boolean;
  createdAt: string;
  updatedAt: string;
}

export interface Delivery {
  id: string;
  eventId: string;
  eventType: string;
  status: 'pending' | 'delivering' | 'succeeded' | 'failed';
  attempts: number;
  nextAttemptAt: string | null;
  lastStatusCode: number | null;
  lastError: string | null;
  createdAt: string;
  completedAt: string | null;
  log: { attempt: number; statusCode: number | null; error: string | null; durationMs: number | null; nextRetryAt: string | null; at: string }[];
}

export interface TeamOption {
  id: string;
  name: string;
  slug: string;
}

const KEY = ['webhooks'] as const;

/** Admins: every webhook; a team admin: their teams' (the API decides). */
export const useWebhooks = () => useQuery({ queryKey: KEY, queryFn: () => unwrap<{ data: Webhook[] }>(api.GET('/webhooks', { params: { query: {} } })) });
export const useDeliveries = (id: string) =>
  useQuery({ queryKey: [...KEY, id, 'deliveries'], queryFn: () => unwrap<{ data: Delivery[] }>(api.GET('/webhooks/{id}/deliveries', { params: { path: { id }, query: { limit: 20 } as never } })) });
export const useTeamOptions = () => useQuery({ queryKey: ['teams'], queryFn: () => unwrap<{ data: TeamOption[] }>(api.GET('/teams')) });

function useWebhookMutation<V, R>(fn: (vars: V) => Promise<R>) {
  const queryClient = useQueryClient();
  return useMutation({ mutationFn: fn, onSuccess: () => queryClient.invalidateQueries({ queryKey: KEY }) });
}

export const useCreateWebhook = () => useWebhookMutation((body: CreateWebhookBody) => unwrap<Webhook & { secret: string }>(api.POST('/webhooks', { body })));
export const useUpdateWebhook = () =>
  useWebhookMutation(({ id, body }: { id: string; body: UpdateWebhookBody }) => unwrap<Webhook>(api.PATCH('/webhooks/{id}', { params: { path: { id } }, body })));
export const useDeleteWebhook = () => useWebhookMutation((id: string) => unwrap<void>(api.DELETE('/webhooks/{id}', { params: { path: { id } } })));
export const useRotateWebhookSecret = () => useWebhookMutation((id: string) => unwrap<Webhook & { secret: string }>(api.POST('/webhooks/{id}/secret', { params: { path: { id } } })));
export const useTestWebhook = () => useWebhookMutation((id: string) => unwrap<Delivery>(api.POST('/webhooks/{id}/test', { params: { path: { id } } })));
