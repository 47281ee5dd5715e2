import { QueryClient } from '@tanstack/react-query';
import { ApiError } from '../lib/api/client';

/** Server state lives here. A 4xx is an answer, not a hiccup: only network errors and 5xx are retried. */
export const queryClient = new QueryClient({
  defaultOptions: {
    queries: {
      staleTime: 15_000,
      refetchOnWindowFocus: false,
      retry: (count, error) => count < 2 && !(error instanceof ApiError && error.status < 500),
    },
    mutations: { retry: false },
  },
});
