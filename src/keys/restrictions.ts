import { AppError } from '../http/errors';
import { ipAllowed, referrerAllowed } from '../http/ip-allow';
import type { GatewayPrincipal, Scope } from './principal';
import type { VerifiedKey } from './lookup';

/**
 * Request-time restrictions of a gateway key. The /v1 and /proxy routes call the assert* helpers once they
 * know what the request wants; the network checks run in the gateway guard for every request.
 */

export function assertScope(principal: GatewayPrincipal, scope: Scope): void {
  if (!principal.scopes.includes(scope)) {
    throw new AppError('forbidden', `This API key does not have the '${scope}' scope`);
  }
}

/** Both the key's own list and its owner's plan must allow the service (null = no restriction). */
export function assertServiceAllowed(principal: GatewayPrincipal, service: string): void {
  if (principal.services && !principal.services.includes(service)) {
    throw new AppError('forbidden', `This API key may not use the service '${service}'`);
  }
  if (principal.plan.services && !principal.plan.services.includes(service)) {
    throw new AppError('forbidden', `The plan '${principal.plan.id}' does not include the service '${service}'`);
  }
  if (principal.team?.services && !principal.team.services.includes(service)) {
    throw new AppError('forbidden', `This API key's team may not use the service '${service}'`);
  }
}

/**
 * Model allow-list entries are exact ids, or prefixes ending in '*' ('gpt-4o*'). An entry without a service
 * also matches the model under any service ('gpt-4o' allows 'openai/gpt-4o'); one with a service
 * ('openai/gpt-4o') only under that service.
 */
export function modelAllowed(models: string[] | null, model: string): boolean {
  if (!models) return true;
  const slash = model.indexOf('/');
  const bare = slash === -1 ? model : model.slice(slash + 1);
  const matches = (entry: string, candidate: string) =>
    entry.endsWith('*') ? candidate.startsWith(entry.slice(0, -1)) : candidate === entry;
  return models.some((entry) => matches(entry, model) || (!entry.includes('/') && matches(entry, bare)));
}

/** The key's own model list and its team's, both (null = no restriction). */
export function principalModelAllowed(principal: Pick<GatewayPrincipal, 'models' | 'team'>, model: string): boolean {
  return modelAllowed(principal.models, model) && modelAllowed(principal.team?.models ?? null, model);
}

export function assertModelAllowed(principal: GatewayPrincipal, model: string): void {
  if (!principalModelAllowed(principal, model)) {
    throw new AppError('forbidden', `This API key may not use the model '${model}'`);
  }
}

/** IP and referrer allow-lists; the messages name the rule, never the key. */
export function assertNetworkAllowed(key: VerifiedKey, ip: string, referrer: string | undefined): void {
  if (key.ipListUnreadable || !ipAllowed(ip, key.allowedIps)) {
    throw new AppError('forbidden', `Requests from ${ip} are not allowed for this API key`);
  }
  if (!referrerAllowed(referrer, key.allowedReferrers)) {
    throw new AppError('forbidden', 'This referrer is not allowed for this API key');
  }
}
