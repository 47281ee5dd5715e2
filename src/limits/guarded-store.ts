import type { KvStore } from '../store/kv';

/** What guardedStore needs of the guard (ResilientCounters). */
interface Guard {
  guard<T>(call: () => Promise<T>): Promise<T>;
  readonly unguarded: KvStore;
}

/**
 * A KvStore whose every command goes through the request path's one outage guard (limits/resilient-counters.ts):
 * refused at once while Redis is known to be away, failed after the guard's timeout otherwise. Subscriptions pass
 * straight through: they are not on the request path, and the client re-subscribes by itself after a reconnect.
 */
export function guardedStore(g: Guard): KvStore {
  const s = () => g.unguarded;
  return {
    get kind() {
      return s().kind;
    },
    admit: (checks, nowMs, linked) => g.guard(() => s().admit(checks, nowMs, linked)),
    adjust: (check, delta, nowMs) => g.guard(() => s().adjust(check, delta, nowMs)),
    adjustMany: (items, nowMs) => g.guard(() => s().adjustMany(items, nowMs)),
    peek: (checks, nowMs) => g.guard(() => s().peek(checks, nowMs)),
    get: (key) => g.guard(() => s().get(key)),
    set: (key, value, ttlMs) => g.guard(() => s().set(key, value, ttlMs)),
    del: (key) => g.guard(() => s().del(key)),
    publish: (channel, message) => g.guard(() => s().publish(channel, message)),
    subscribe: (channel, handler) => s().subscribe(channel, handler),
    ping: () => g.guard(() => s().ping()),
    isConnected: () => s().isConnected(),
    close: async () => {}, // the store's owner closes it
  };
}
