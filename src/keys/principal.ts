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
}
