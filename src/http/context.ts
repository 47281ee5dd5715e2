import type Koa from 'koa';
import type { Role } from '../auth/permissions';

/** What a management request knows about its caller once authenticated. */
export interface SessionUser {
  id: string;
  email: string;
  role: Role;
  planId: string;
}

export interface AppState {
  requestId: string;
  user?: SessionUser;
  /** set when the caller came with the console's session cookie rather than a Bearer JWT */
  session?: { id: string };
  /** set by gateway-key authentication on /v1 and /proxy (see keys/principal.ts) */
  principal?: import('../keys/principal').GatewayPrincipal;
}

export type AppContext = Koa.ParameterizedContext<AppState>;

/** The client's address for allow-lists, login throttling, audit rows and logs (resolved in http/client-ip.ts). */
export function clientIp(ctx: AppContext): string {
  return ctx.ip;
}

/** Who did it, for the audit row of a management mutation. */
export function auditActor(ctx: AppContext): import('../audit/audit').AuditActor {
  return { type: 'user', id: ctx.state.user?.id ?? null, ip: clientIp(ctx), requestId: ctx.state.requestId };
}
