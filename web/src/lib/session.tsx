import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api, setCsrfToken, toApiError, unwrap } from './api/client';
import type { Role } from './routes';

export interface Session {
  user: { id: string; email: string; role: Role; plan: string; mustChangePassword: boolean };
  csrfToken: string;
  expiresAt: string;
}

export const SESSION_QUERY_KEY = ['session'] as const;

/** Set when a call found the session gone (401), so the login page can say why the user is there. */
let lostWhileInUse = false;
export function markSessionLost(): void {
  lostWhileInUse = true;
}
export function wasSessionLost(): boolean {
  return lostWhileInUse;
}

/** The console session from GET /auth/session: null when there is none (401). Keeps the CSRF token for the client. */
async function fetchSession(): Promise<Session | null> {
  const { data, error, response } = await api.GET('/auth/session');
  if (response.status === 401) {
    setCsrfToken(null);
    return null;
  }
  if (!response.ok) throw await toApiError(response, error);
  const session = data as unknown as Session;
  setCsrfToken(session.csrfToken);
  return session;
}

export function useSession() {
  return useQuery({ queryKey: SESSION_QUERY_KEY, queryFn: fetchSession, staleTime: Infinity, retry: false });
}

export function useLogin() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (body: { email: string; password: string }) => unwrap<Session>(api.POST('/auth/session', { body })),
    onSuccess: (session) => {
      lostWhileInUse = false;
      queryClient.clear();
      setCsrfToken(session.csrfToken);
      queryClient.setQueryData(SESSION_QUERY_KEY, session);
    },
  });
}

export function useLogout() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: () => unwrap<void>(api.DELETE('/auth/session')),
    onSettled: () => {
      setCsrfToken(null);
      queryClient.clear();
      queryClient.setQueryData(SESSION_QUERY_KEY, null);
    },
  });
}

/** Changing one's password ends every session; the answer carries the new console session (a fresh cookie). */
export function useChangePassword() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (body: { currentPassword: string; newPassword: string }) => unwrap<Session & { ok: true }>(api.POST('/auth/password', { body })),
    onSuccess: ({ user, csrfToken, expiresAt }) => {
      setCsrfToken(csrfToken);
      queryClient.setQueryData(SESSION_QUERY_KEY, { user, csrfToken, expiresAt });
    },
  });
}
