import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api, unwrap } from '../../../lib/api/client';
import type { paths } from '../../../lib/api/schema';

export type CreateServiceBody = paths['/services']['post']['requestBody']['content']['application/json'];
export type UpdateServiceBody = paths['/services/{slug}']['patch']['requestBody']['content']['application/json'];

export interface Service {
  slug: string;
  name: string;
  kind: 'llm' | 'rest';
  baseUrl: string;
  auth: { type: string; name?: string };
  keyPattern: string | null;
  /** credits = dollars */
  costPerCall: number;
  timeoutMs: number | null;
  allowPrivate: boolean;
  builtin: boolean;
  enabled: boolean;
}

const KEY = ['services'] as const;

export function useServices() {
  return useQuery({ queryKey: KEY, queryFn: () => unwrap<{ data: Service[] }>(api.GET('/services')), staleTime: 60_000 });
}

function useServiceMutation<V, R>(fn: (vars: V) => Promise<R>) {
  const queryClient = useQueryClient();
  return useMutation({ mutationFn: fn, onSuccess: () => queryClient.invalidateQueries({ queryKey: KEY }) });
}

export const useCreateService = () => useServiceMutation((body: CreateServiceBody) => unwrap<Service>(api.POST('/services', { body })));
export const useUpdateService = () =>
  useServiceMutation(({ slug, body }: { slug: string; body: UpdateServiceBody }) => unwrap<Service>(api.PATCH('/services/{slug}', { params: { path: { slug } }, body })));
