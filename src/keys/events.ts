import type { KvStore } from '../store/kv';

/**
 * Cross-node invalidation channels. Every node's key verifier listens to all three; the store delivers a
 * message to every node (Redis pub/sub, or in-process on the embedded default) well within a second.
 */
export const KEYS_CHANGED = 'keys:changed';
export const USERS_CHANGED = 'users:changed';
export const PLANS_CHANGED = 'plans:changed';
/** a team's ceilings changed or it was deleted: every cached key principal may carry them */
export const TEAMS_CHANGED = 'teams:changed';

export interface ChangeMessage {
  ids: string[];
}

export function encodeChange(ids: string[]): string {
  return JSON.stringify({ ids } satisfies ChangeMessage);
}

/** A malformed message still invalidates: `null` tells the listener to drop everything it holds. */
export function decodeChange(message: string): ChangeMessage | null {
  try {
    const parsed = JSON.parse(message) as Partial<ChangeMessage>;
    return Array.isArray(parsed.ids) && parsed.ids.every((id) => typeof id === 'string') ? { ids: parsed.ids } : null;
  } catch {
    return null;
  }
}

export function publishKeysChanged(kv: KvStore, keyIds: string[]): Promise<void> {
  return kv.publish(KEYS_CHANGED, encodeChange(keyIds));
}

export function publishUsersChanged(kv: KvStore, userIds: string[]): Promise<void> {
  return kv.publish(USERS_CHANGED, encodeChange(userIds));
}
