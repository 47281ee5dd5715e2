import type { BudgetPeriod } from '../limits/periods';

/** The caller of /v1 and /proxy, as established by gateway-key verification (keys/verify.ts). */
export type Scope = 'chat' | 'proxy' | 'models' | 'embeddings';
export const SCOPES: Scope[] = ['chat', 'proxy', 'models', 'embeddings'];

export interface RateLimits {
  rpm?: number | null;
  rph?: number | null;
  rpd?: number | null;
  tpm?: number | null;
}

export interface PlanLimits extends RateLimits {
  id: string;
  monthlyCreditsMicros: number | null;
  services: string[] | null;
}

/**
 * The ceilings and budgets of the key's team (null = none), cached with the key: the team's budget per period, the
 * share of it set for the key's owner (member) and for this key, all counted in the team's period.
 */
export interface TeamCeilings {
  id: string;
  /** for the bounded `team` metric label (slugs never change) */
  slug?: string;
  /** route to the team's own wallet entries only, never to the organisation's shared pool */
  ownPoolOnly?: boolean;
  rpm: number | null;
  tpm: number | null;
  services: string[] | null;
  models: string[] | null;
  budgetMicros?: number | null;
  budgetPeriod?: BudgetPeriod;
  memberBudgetMicros?: number | null;
  keyBudgetMicros?: number | null;
}

export interface GatewayPrincipal {
  keyId: string;
  userId: string;
  environment: 'live' | 'test';
  scopes: Scope[];
  /** allow-lists; null = no restriction */
  services: string[] | null;
  models: string[] | null;
  /** per-key overrides of the plan's limits */
  limits: RateLimits | null;
  monthlyCreditsMicros: number | null;
  plan: PlanLimits;
  /** the key's team, if it has one: its ceilings apply on top of the key's own restrictions and limits */
  team?: TeamCeilings | null;
}
