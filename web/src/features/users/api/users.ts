import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api, unwrap } from '../../../lib/api/client';
import type { paths } from '../../../lib/api/schema';

export type CreateUserBody = paths['/users']['post']['requestBody']['content']['application/json'];
export type UserPatch = paths['/users/{id}']['patch']['requestBody']['content']['application/json'];
export type UserFilters = NonNullable<paths['/users']['get']['parameters']['query']>;

export interface User {
  id: string;
  email: string;
  role: 'admin' | 'developer' | 'analyst';
  plan: string;
  disabled: boolean;
  mustChangePassword: boolean;
  lastLoginAt: string | null;
  createdAt: string;
}

export interface CreditBalance {
  period: string;
  plan: string;
  /** all in credits = dollars */
  planAllowance: number | null;
  topUps: number;
  allowance: number | null;
  spent: number;
  remaining: number | null;
}

const KEY = ['users'] as const;

export function useUsers(filters: UserFilters) {
  return useQuery({
    queryKey: [...KEY, 'list', filters],
    queryFn: () => unwrap<{ data: User[]; total: number }>(api.GET('/users', { params: { query: filters } })),
  });
}

export function usePlanIds() {
  return useQuery({
    queryKey: ['plans'],
    queryFn: () => unwrap<{ data: { id: string; name: string }[] }>(api.GET('/plans')),
    staleTime: 60_000,
  });
}

export function useBalance(userId: string) {
  return useQuery({
    queryKey: [...KEY, 'credits', userId],
    queryFn: () => unwrap<CreditBalance>(api.GET('/users/{id}/credits', { params: { path: { id: userId }, query: {} } })),
  });
}

function useUserMutation<V, R>(fn: (vars: V) => Promise<R>) {
  const queryClient = useQueryClient();
  return useMutation({ mutationFn: fn, onSuccess: () => queryClient.invalidateQueries({ queryKey: KEY }) });
}

export const useCreateUser = () => useUserMutation((body: CreateUserBody) => unwrap<User>(api.POST('/users', { body })));

export const useUpdateUser = () =>
  useUserMutation(({ id, body }: { id: string; body: UserPatch }) => unwrap<User>(api.PATCH('/users/{id}', { params: { path: { id } }, body })));

export const useTopUp = () =>
  useUserMutation(({ id, amount, reason }: { id: string; amount: number; reason: string }) =>
    unwrap<unknown>(api.POST('/users/{id}/credits', { params: { path: { id } }, body: { amount, reason } })),
  );
