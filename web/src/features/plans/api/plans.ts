import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api, unwrap } from '../../../lib/api/client';
import type { paths } from '../../../lib/api/schema';

export type CreatePlanBody = paths['/plans']['post']['requestBody']['content']['application/json'];
export type UpdatePlanBody = paths['/plans/{id}']['patch']['requestBody']['content']['application/json'];

export interface Plan {
  id: string;
  name: string;
  rpm: number | null;
  rph: number | null;
  rpd: number | null;
  tpm: number | null;
  /** credits = dollars; null = unlimited */
  monthlyCredits: number | null;
  services: string[] | null;
  builtin: boolean;
}

const KEY = ['plans'] as const;

export const usePlans = () => useQuery({ queryKey: KEY, queryFn: () => unwrap<{ data: Plan[] }>(api.GET('/plans')) });

function usePlanMutation<V, R>(fn: (vars: V) => Promise<R>) {
  const queryClient = useQueryClient();
  return useMutation({ mutationFn: fn, onSuccess: () => queryClient.invalidateQueries({ queryKey: KEY }) });
}

export const useCreatePlan = () => usePlanMutation((body: CreatePlanBody) => unwrap<Plan>(api.POST('/plans', { body })));
export const useUpdatePlan = () =>
  usePlanMutation(({ id, body }: { id: string; body: UpdatePlanBody }) => unwrap<Plan>(api.PATCH('/plans/{id}', { params: { path: { id } }, body })));
