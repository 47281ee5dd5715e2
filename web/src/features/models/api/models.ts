import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api, unwrap } from '../../../lib/api/client';

export interface AliasTarget {
  service: string;
  model: string;
}

export interface Alias {
  alias: string;
  targets: AliasTarget[];
  description: string | null;
  builtin: boolean;
}

export interface Price {
  model: string;
  service: string;
  /** USD per million tokens */
  inputPerMTok: number;
  outputPerMTok: number;
}

const KEY = ['models'] as const;

export const useAliases = () => useQuery({ queryKey: [...KEY, 'aliases'], queryFn: () => unwrap<{ data: Alias[] }>(api.GET('/models')) });
export const usePrices = () => useQuery({ queryKey: [...KEY, 'prices'], queryFn: () => unwrap<{ data: Price[] }>(api.GET('/models/prices')) });
export const useServiceSlugs = () =>
  useQuery({ queryKey: ['services'], queryFn: () => unwrap<{ data: { slug: string; kind: string }[] }>(api.GET('/services')), staleTime: 60_000 });

function useModelsMutation<V, R>(fn: (vars: V) => Promise<R>) {
  const queryClient = useQueryClient();
  return useMutation({ mutationFn: fn, onSuccess: () => queryClient.invalidateQueries({ queryKey: KEY }) });
}

export const usePutAlias = () =>
  useModelsMutation(({ alias, targets, description }: { alias: string; targets: AliasTarget[]; description?: string | null }) =>
    unwrap<Alias>(api.PUT('/models/{alias}', { params: { path: { alias } }, body: { targets, ...(description !== undefined ? { description } : {}) } })),
  );
export const useDeleteAlias = () => useModelsMutation((alias: string) => unwrap<void>(api.DELETE('/models/{alias}', { params: { path: { alias } } })));
export const usePutPrice = () =>
  useModelsMutation(({ model, ...body }: Price) => unwrap<Price>(api.PUT('/models/prices/{model}', { params: { path: { model } }, body })));
