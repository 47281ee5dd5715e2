import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api, unwrap } from '../../../lib/api/client';
import type { paths } from '../../../lib/api/schema';

export type CreateTeamBody = paths['/teams']['post']['requestBody']['content']['application/json'];
export type UpdateTeamBody = paths['/teams/{id}']['patch']['requestBody']['content']['application/json'];
export type TeamRole = 'team_admin' | 'member';

export interface Team {
  id: string;
  name: string;
  slug: string;
  /** USD per budget period; null = none */
  monthlyBudget: number | null;
  budgetPeriod?: string;
  rpm: number | null;
  tpm: number | null;
  services: string[] | null;
  models: string[] | null;
  createdAt: string;
  updatedAt: string;
}

export interface TeamMember {
  userId: string;
  email?: string;
  role: TeamRole;
  createdAt: string;
}

export interface UserOption {
  id: string;
  email: string;
  role: string;
}

const KEY = ['teams'] as const;

/** Admins: every team; anyone else: the teams they belong to (the API decides). */
export const useTeams = () => useQuery({ queryKey: KEY, queryFn: () => unwrap<{ data: Team[] }>(api.GET('/teams')) });

/** A team's members: an org admin or a team admin of that team (others get the API's 403, shown in words). */
export const useMembers = (teamId: string) =>
  useQuery({ queryKey: [...KEY, teamId, 'members'], retry: false, queryFn: () => unwrap<{ data: TeamMember[] }>(api.GET('/teams/{id}/members', { params: { path: { id: teamId } } })) });

export const useUserOptions = (enabled: boolean) =>
  useQuery({ queryKey: ['users', 'options'], enabled, queryFn: () => unwrap<{ data: UserOption[] }>(api.GET('/users', { params: { query: { limit: 200 } as never } })) });

function useTeamMutation<V, R>(fn: (vars: V) => Promise<R>) {
  const queryClient = useQueryClient();
  return useMutation({ mutationFn: fn, onSuccess: () => queryClient.invalidateQueries({ queryKey: KEY }) });
}

export const useCreateTeam = () => useTeamMutation((body: CreateTeamBody) => unwrap<Team>(api.POST('/teams', { body })));
export const useUpdateTeam = () =>
  useTeamMutation(({ id, body }: { id: string; body: UpdateTeamBody }) => unwrap<Team>(api.PATCH('/teams/{id}', { params: { path: { id } }, body })));
export const useDeleteTeam = () => useTeamMutation((id: string) => unwrap<void>(api.DELETE('/teams/{id}', { params: { path: { id } } })));
export const useAddMember = () =>
  useTeamMutation(({ teamId, userId, role }: { teamId: string; userId: string; role: TeamRole }) =>
    unwrap<TeamMember>(api.POST('/teams/{id}/members', { params: { path: { id: teamId } }, body: { userId, role } })),
  );
export const useChangeMember = () =>
  useTeamMutation(({ teamId, userId, role }: { teamId: string; userId: string; role: TeamRole }) =>
    unwrap<TeamMember>(api.PATCH('/teams/{id}/members/{userId}', { params: { path: { id: teamId, userId } }, body: { role } })),
  );
export const useRemoveMember = () =>
  useTeamMutation(({ teamId, userId }: { teamId: string; userId: string }) =>
    unwrap<void>(api.DELETE('/teams/{id}/members/{userId}', { params: { path: { id: teamId, userId } } })),
  );

export type TeamUsageGroup = 'day' | 'user' | 'key' | 'service' | 'model' | 'status';
export interface TeamUsageRow {
  group: string | null;
  label: string | null;
  requests: number;
  errors: number;
  promptTokens: number;
  completionTokens: number;
  costMicros: number;
  avgLatencyMs: number;
}

/** A team's usage over whole UTC days (admins, analysts, the team's team admins; others get the API's 403). */
export const useTeamUsage = (teamId: string, from: string, to: string, groupBy: TeamUsageGroup) =>
  useQuery({
    queryKey: [...KEY, teamId, 'usage', from, to, groupBy],
    retry: false,
    queryFn: () =>
      unwrap<{ totals: Omit<TeamUsageRow, 'group' | 'label'>; rows: TeamUsageRow[] }>(
        api.GET('/teams/{id}/usage', { params: { path: { id: teamId }, query: { from, to, groupBy } as never } }),
      ),
  });

export const BUDGET_PERIODS = ['monthly', 'weekly', 'daily', 'rolling_24h', 'rolling_7d', 'rolling_30d'] as const;
export type BudgetPeriod = (typeof BUDGET_PERIODS)[number];

/** Where a budget stands this period (USD, every node together). */
export interface BudgetStanding {
  budget: number | null;
  period: BudgetPeriod;
  periodLabel: string;
  periodStart: string;
  periodEnd: string;
  timeZone: string;
  spent: number;
  remaining: number | null;
}

export interface TeamBudget extends BudgetStanding {
  teamId: string;
  members: { userId: string; email: string; role: string; budget: number | null; spent: number }[];
  keys: { keyId: string; name: string; userId: string; budget: number | null; spent: number }[];
}

export type TeamBudgetBody = paths['/teams/{id}/budget']['put']['requestBody']['content']['application/json'];
export type OrgBudgetBody = paths['/org/budget']['put']['requestBody']['content']['application/json'];

/** A team's budget and its shares (admins, or a team admin of that team; others get the API's 403 in words). */
export const useTeamBudget = (teamId: string) =>
  useQuery({ queryKey: [...KEY, teamId, 'budget'], retry: false, queryFn: () => unwrap<TeamBudget>(api.GET('/teams/{id}/budget', { params: { path: { id: teamId } } })) });
export const useSetTeamBudget = () =>
  useTeamMutation(({ teamId, body }: { teamId: string; body: TeamBudgetBody }) =>
    unwrap<TeamBudget>(api.PUT('/teams/{id}/budget', { params: { path: { id: teamId } }, body })),
  );

/** The organisation's budget (admins). */
export const useOrgBudget = (enabled: boolean) =>
  useQuery({ queryKey: ['org', 'budget'], enabled, retry: false, queryFn: () => unwrap<BudgetStanding>(api.GET('/org/budget')) });
export function useSetOrgBudget() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (body: OrgBudgetBody) => unwrap<BudgetStanding>(api.PUT('/org/budget', { body })),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: ['org', 'budget'] }),
  });
}
